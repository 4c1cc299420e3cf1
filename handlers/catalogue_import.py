"""Staff import the program catalogue by sending an XLSX or CSV file, then confirm it."""

from __future__ import annotations

import io
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import BaseFilter, Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.content import ContentStore
from bot.html import split_text
from bot.middlewares import RoleGuard
from bot.services.catalogue import CatalogueService
from bot.services.catalogue.importer import MAX_FILE_BYTES
from bot.services.roles import Role
from bot.views.catalogue import ImportCD, import_keyboard, import_summary

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))
logger = logging.getLogger(__name__)

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".xls", ".txt")
HOW_TO = (
    "Пришлите файл каталога программ (XLSX или CSV) — выгрузку из «Навигатора» или таблицу "
    "в том же формате. Обязательные столбцы: «ID программы», «Наименование программы», "
    "«Направленность», «Возраст от», «Возраст до», «Муниципалитет». Я покажу, что изменится, "
    "и попрошу подтвердить. Отменить: /cancel"
)


class ImportStates(StatesGroup):
    file = State()


class StaffSpreadsheet(BaseFilter):
    """A document from staff that is meant as a catalogue import.

    Parents' documents do not match, so they get the usual answer to files;
    the router's RoleGuard checks the role once more on the server side.
    """

    async def __call__(self, message: Message, role: Role, state: FSMContext) -> bool:
        if message.document is None or role < Role.STAFF:
            return False
        current = await state.get_state()
        if current == ImportStates.file.state:
            return True
        if current is not None:  # another dialogue (e.g. an attachment it asked for)
            return False
        name = (message.document.file_name or "").lower()
        return message.chat.type == ChatType.PRIVATE and name.endswith(SPREADSHEET_SUFFIXES)


@router.message(Command("import"))
async def cmd_import(message: Message, state: FSMContext) -> None:
    await state.set_state(ImportStates.file)
    await message.answer(HOW_TO)


async def _send_long(message: Message, text: str, **kwargs: Any) -> None:
    parts = split_text(text)
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], **kwargs)


@router.message(F.document, StaffSpreadsheet())
async def on_document(
    message: Message, bot: Bot, catalogue: CatalogueService, content: ContentStore, state: FSMContext
) -> None:
    assert message.document is not None and message.from_user is not None
    await state.set_state(None)
    document = message.document
    name = document.file_name or "файл"
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        await message.answer(
            f"Файл больше {MAX_FILE_BYTES // (1024 * 1024)} МБ — такой бот не может скачать. "
            "Разделите каталог или удалите лишние столбцы. Каталог не изменён."
        )
        return
    # The bytes first, outside any unit of work; then the service reads, compares and keeps them.
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    preview = await catalogue.prepare_import(message.from_user.id, name, buffer.getvalue(), content.current)
    summary = import_summary(preview)
    if not preview.ok or preview.plan is None:
        await _send_long(message, summary)
        return
    if preview.token is None:
        await _send_long(message, summary + "\n\nКаталог уже совпадает с файлом.")
        return
    await _send_long(
        message, summary + "\n\nПрименить эти изменения?", reply_markup=import_keyboard(preview.token)
    )


@router.callback_query(ImportCD.filter(F.a == "apply"))
async def on_apply(query: CallbackQuery, callback_data: ImportCD, catalogue: CatalogueService) -> None:
    plan = await catalogue.apply_import(callback_data.t, query.from_user.id)
    if plan is None:
        await query.answer(
            "Этот импорт уже применён, отменён или устарел (храню его час). Пришлите файл заново.",
            show_alert=True,
        )
        return
    # Committed: from here on we only tell about it.
    counts = plan.counts()
    await query.answer("Каталог обновлён")
    logger.info("catalogue import by %s: %s", query.from_user.id, counts)
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer(
            "✅ Каталог обновлён: добавлено {added}, обновлено {updated}, без изменений {unchanged}, "
            "удалено {removed}.".format(**counts)
        )


@router.callback_query(ImportCD.filter(F.a == "cancel"))
async def on_cancel(query: CallbackQuery, callback_data: ImportCD, catalogue: CatalogueService) -> None:
    dropped = await catalogue.cancel_import(callback_data.t, query.from_user.id)
    if not dropped:
        await query.answer("Этот импорт уже применён, отменён или устарел.", show_alert=True)
        return
    await query.answer("Импорт отменён")
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(reply_markup=None)
        await query.message.answer("Импорт отменён, каталог не изменён.")


@router.message(ImportStates.file, ~F.text.startswith("/"))
async def on_not_a_file(message: Message) -> None:
    await message.answer("Жду файл XLSX или CSV с каталогом программ. Отменить: /cancel")
