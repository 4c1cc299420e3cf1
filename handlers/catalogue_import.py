"""Staff import the program catalogue by sending an XLSX or CSV file, then confirm it
(and confirm once more when the import removes programs)."""

from __future__ import annotations

import io
import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.content import ContentStore
from bot.html import split_text
from bot.middlewares import RoleGuard
from bot.services.catalogue import CatalogueService, RemovalToConfirm
from bot.services.catalogue.importer import MAX_FILE_BYTES
from bot.services.roles import Role
from bot.services.users import UserRecord as User
from bot.views.catalogue import (
    ImportCD,
    Texts,
    import_keyboard,
    import_prompt_keyboard,
    import_question,
    import_summary,
    removal_question,
)

router = Router(name=__name__)
router.message.middleware(RoleGuard(Role.STAFF))
router.callback_query.middleware(RoleGuard(Role.STAFF))
logger = logging.getLogger(__name__)

SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".xls", ".txt")


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


def _texts(user: User | None, content: ContentStore) -> Texts:
    c = content.current
    known = user is not None and user.municipality_id in c.municipalities
    return Texts(c, user.municipality_id if known and user is not None else None)


@router.message(Command("import"))
async def cmd_import(message: Message, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.set_state(ImportStates.file)
    t = _texts(user, content)
    await message.answer(t("import_how_to"), reply_markup=import_prompt_keyboard(t))


async def _drop_buttons(query: CallbackQuery) -> Message | None:
    """Take the buttons off the pressed message (already gone after a second press: fine)."""
    if not isinstance(query.message, Message):
        return None
    try:
        await query.message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            logger.info("could not take the import buttons off: %s", exc.message)
    return query.message


async def _send_long(message: Message, text: str, **kwargs: Any) -> None:
    parts = split_text(text)
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], **kwargs)


@router.message(F.document, StaffSpreadsheet())
async def on_document(
    message: Message,
    *,
    bot: Bot,
    user: User,
    catalogue: CatalogueService,
    content: ContentStore,
    state: FSMContext,
) -> None:
    assert message.document is not None and message.from_user is not None
    await state.set_state(None)
    t = _texts(user, content)
    document = message.document
    name = document.file_name or ""
    if document.file_size and document.file_size > MAX_FILE_BYTES:
        await message.answer(t("import_too_big", mb=MAX_FILE_BYTES // (1024 * 1024)))
        return
    # The bytes first, outside any unit of work; then the service reads, compares and keeps them.
    buffer = io.BytesIO()
    await bot.download(document, destination=buffer)
    preview = await catalogue.prepare_import(message.from_user.id, name, buffer.getvalue(), content.current)
    summary = import_summary(t, preview)
    if not preview.ok or preview.plan is None:
        await _send_long(message, summary)
        return
    if preview.token is None:
        await _send_long(message, summary + "\n\n" + t("import_same"))
        return
    await _send_long(
        message,
        summary + "\n\n" + import_question(t, preview.plan),
        reply_markup=import_keyboard(t, preview.token),
    )


@router.callback_query(ImportCD.filter(F.a == "apply"))
async def on_apply(
    query: CallbackQuery,
    *,
    callback_data: ImportCD,
    user: User,
    catalogue: CatalogueService,
    content: ContentStore,
) -> None:
    t = _texts(user, content)
    outcome = await catalogue.apply_import(
        callback_data.t, query.from_user.id, removals_confirmed=max(0, callback_data.n)
    )
    if outcome is None:
        await query.answer(t("import_stale"), show_alert=True)
        return
    if isinstance(outcome, RemovalToConfirm):  # nothing applied: ask once more
        await query.answer()
        message = await _drop_buttons(query)
        if message is not None:
            text, markup = removal_question(t, callback_data.t, outcome.removed)
            await message.answer(text, reply_markup=markup)
        return
    # Committed: from here on we only tell about it.
    counts = outcome.counts()
    await query.answer(t("import_applied_alert"))
    logger.info("catalogue import by %s: %s", query.from_user.id, counts)
    message = await _drop_buttons(query)
    if message is not None:
        await message.answer(t("import_applied", **counts))


@router.callback_query(ImportCD.filter(F.a == "cancel"))
async def on_cancel(
    query: CallbackQuery,
    *,
    callback_data: ImportCD,
    user: User,
    catalogue: CatalogueService,
    content: ContentStore,
) -> None:
    t = _texts(user, content)
    dropped = await catalogue.cancel_import(callback_data.t, query.from_user.id)
    if not dropped:
        await query.answer(t("import_stale"), show_alert=True)
        return
    await query.answer(t("import_cancelled_alert"))
    message = await _drop_buttons(query)
    if message is not None:
        await message.answer(t("import_cancelled"))


@router.callback_query(ImportCD.filter(F.a == "quit"))
async def on_quit(query: CallbackQuery, user: User, content: ContentStore, state: FSMContext) -> None:
    """«Отмена» under the /import prompt: no file is coming."""
    if await state.get_state() == ImportStates.file.state:
        await state.set_state(None)
    await query.answer()
    message = await _drop_buttons(query)
    if message is not None:
        await message.answer(_texts(user, content)("import_cancelled"))


@router.message(ImportStates.file, ~F.text.startswith("/"))
async def on_not_a_file(message: Message, user: User, content: ContentStore) -> None:
    t = _texts(user, content)
    await message.answer(t("import_waiting_file"), reply_markup=import_prompt_keyboard(t))
