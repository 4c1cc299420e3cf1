"""Program search for parents: /search, the menu button, typed ages and free-text requests."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import BaseFilter, Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.content import ContentStore
from bot.keyboards import MenuCD, main_menu_keyboard
from bot.services.catalogue import CatalogueService, SearchResult
from bot.services.catalogue.query import ProgramQuery, parse_age, parse_program_query
from bot.services.users import UserRecord as User
from bot.views.catalogue import (
    PAGE_SIZE,
    BadSearchData,
    SearchCD,
    SearchState,
    Texts,
    age_out_of_range,
    age_step,
    direction_step,
    filter_step,
    program_card,
    search_cancelled,
    search_results,
)

router = Router(name=__name__)
router.message.filter(F.chat.type == ChatType.PRIVATE)
logger = logging.getLogger(__name__)

class SearchStates(StatesGroup):
    age = State()


class ProgramSearchText(BaseFilter):
    """Passes (with `program_query`) only when the text really is a program search."""

    async def __call__(self, message: Message) -> bool | dict[str, Any]:
        if not message.text:
            return False
        query = parse_program_query(message.text)
        return {"program_query": query} if query is not None else False


def _municipality(user: User | None, content: ContentStore) -> str:
    c = content.current
    if user is not None and user.municipality_id in c.municipalities:
        return user.municipality_id
    return c.default_municipality_id


def _texts(user: User | None, content: ContentStore) -> Texts:
    return Texts(content.current, _municipality(user, content))


async def _keywords(state: FSMContext) -> tuple[str, ...]:
    data = await state.get_data()
    return tuple(data.get("kw", ()))


async def _take_nearby(state: FSMContext) -> bool:
    """Whether the request said «рядом с домом» (told once, with the first list)."""
    data = await state.get_data()
    if not data.get("near"):
        return False
    await state.update_data(near=False)
    return True


async def _leave_age_step(state: FSMContext) -> None:
    """Stop waiting for a typed age, without touching another feature's dialogue."""
    if await state.get_state() == SearchStates.age.state:
        await state.set_state(None)


async def _ask_age(
    state: FSMContext, search: SearchState, user: User, t: Texts
) -> tuple[str, InlineKeyboardMarkup]:
    """The age step; a typed age answers it too, so the search so far waits in the FSM data."""
    await state.set_state(SearchStates.age)
    await state.update_data(cd=search.cd("flt").pack())
    return age_step(t, search, user.child_ages)


async def _show(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Replace the dialogue message; a new one when it cannot be edited."""
    if isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
            logger.info("could not edit the search message: %s", exc.message)
        await query.message.answer(text, reply_markup=markup)


async def _results(
    *,
    catalogue: CatalogueService,
    t: Texts,
    search: SearchState,
    keywords: tuple[str, ...],
    page: int,
    nearby: bool = False,
) -> tuple[SearchResult, str, InlineKeyboardMarkup] | None:
    """A results page and its text; None when the page does not exist."""
    filters = search.filters(t.municipality_id, keywords)
    result = await catalogue.search(filters, page=page, page_size=PAGE_SIZE)
    if result is None:
        return None
    return (result, *search_results(t, search, keywords, result, nearby=nearby))


# --- entry points ---------------------------------------------------------------------------


@router.message(Command("search"))
async def cmd_search(message: Message, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.clear()
    text, markup = direction_step(_texts(user, content), SearchState())
    await message.answer(text, reply_markup=markup)


@router.callback_query(MenuCD.filter(F.item == "search"))
async def on_menu_search(query: CallbackQuery, user: User, content: ContentStore, state: FSMContext) -> None:
    await state.clear()
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = direction_step(_texts(user, content), SearchState())
        await query.message.answer(text, reply_markup=markup)


async def run_text_query(
    message: Message,
    *,
    program_query: ProgramQuery,
    catalogue: CatalogueService,
    user: User,
    content: ContentStore,
    state: FSMContext,
) -> None:
    """Answer a parsed free-text request: results, or the step that is still missing
    (never the age again when the text gave it)."""
    await state.clear()
    t = _texts(user, content)
    if program_query.age_out_of_range:
        await message.answer(age_out_of_range(t))
        return
    keywords = program_query.keywords
    if keywords:
        await state.update_data(kw=list(keywords))
    search = SearchState(
        direction=program_query.direction,
        age=program_query.age,
        funding=program_query.funding,
        ovz=program_query.ovz,
        form=program_query.form,
        keywords=bool(keywords),
    )
    if keywords or (search.direction and search.age):
        shown = await _results(
            catalogue=catalogue, t=t, search=search, keywords=keywords, page=0, nearby=program_query.nearby
        )
        assert shown is not None  # page 0 always exists
        result, text, markup = shown
        await message.answer(text, reply_markup=markup)
        await catalogue.record_search(user.id, result)  # a read: logged once the answer is out
        return
    if program_query.nearby:
        await state.update_data(near=True)  # said with the list the next press shows
    if search.direction is None:
        text, markup = direction_step(t, search)  # with a typed age, a direction shows results
    else:
        text, markup = await _ask_age(state, search, user, t)
    await message.answer(text, reply_markup=markup)


class TypedAge(BaseFilter):
    """Text that holds a number (or a number word): an answer to the age step."""

    async def __call__(self, message: Message) -> bool:
        text = message.text
        if not text or text.startswith("/") or parse_age(text) is None:
            return False
        query = parse_program_query(text)  # «шахматы для 10 лет» is a new search
        return query is None or not (query.keywords or query.direction)


@router.message(SearchStates.age, F.text, TypedAge())
async def on_typed_age(
    message: Message, user: User, catalogue: CatalogueService, content: ContentStore, state: FSMContext
) -> None:
    t = _texts(user, content)
    answer = parse_age(message.text or "")
    if answer is None or answer.age is None:
        await message.answer(age_out_of_range(t))
        return
    data = await state.get_data()
    try:
        search = SearchState.from_cd(SearchCD.unpack(data.get("cd", "ps:flt")))
    except (BadSearchData, ValueError, TypeError):
        search = SearchState()
    search = replace(search, age=answer.age)
    await state.set_state(None)
    district = await catalogue.district(t.municipality_id, search.district) if search.district else None
    text, markup = filter_step(t, search, await _keywords(state), district)
    await message.answer(text, reply_markup=markup)


# Other text at the age step may be a new search, or a question for the FAQ router.
@router.message(StateFilter(None, SearchStates.age), F.text, ProgramSearchText())
async def on_free_text(
    message: Message,
    *,
    program_query: ProgramQuery,
    catalogue: CatalogueService,
    user: User,
    content: ContentStore,
    state: FSMContext,
) -> None:
    await run_text_query(
        message, program_query=program_query, catalogue=catalogue, user=user, content=content, state=state
    )


# --- buttons --------------------------------------------------------------------------------


@router.callback_query(SearchCD.filter(F.a == "quit"))
async def on_quit(query: CallbackQuery, user: User, content: ContentStore, state: FSMContext) -> None:
    await _leave_age_step(state)
    await query.answer()
    await _show(query, search_cancelled(_texts(user, content)), main_menu_keyboard())


@router.callback_query(SearchCD.filter())
async def on_search_button(
    query: CallbackQuery,
    *,
    callback_data: SearchCD,
    catalogue: CatalogueService,
    user: User,
    content: ContentStore,
    state: FSMContext,
) -> None:
    t = _texts(user, content)
    try:
        search = SearchState.from_cd(callback_data)
    except BadSearchData:
        await query.answer(t("forged_button"), show_alert=True)
        return
    keywords = await _keywords(state)
    if search.keywords and not keywords:
        await query.answer(t("stale_keywords"), show_alert=True)
        return
    action = callback_data.a
    if action == "new":
        await state.clear()
        await query.answer()
        await _show(query, *direction_step(t, SearchState()))
        return
    if action == "dir":
        await _leave_age_step(state)
        await query.answer()
        await _show(query, *direction_step(t, search))
        return
    if action == "age":
        step = await _ask_age(state, search, user, t)
        await query.answer()
        await _show(query, *step)
        return
    if action == "flt":
        await _leave_age_step(state)
        district = await catalogue.district(t.municipality_id, search.district) if search.district else None
        await query.answer()
        await _show(query, *filter_step(t, search, keywords, district))
        return
    if action in ("res", "pg"):
        await _leave_age_step(state)
        shown = await _results(
            catalogue=catalogue,
            t=t,
            search=search,
            keywords=keywords,
            page=callback_data.p,
            nearby=action == "res" and await _take_nearby(state),
        )
        if shown is None:
            await query.answer(t("no_such_page"), show_alert=True)
            return
        result, text, markup = shown
        if result.unknown_district:
            await query.answer(t("district_gone"), show_alert=True)
            return
        await query.answer()
        await _show(query, text, markup)
        if action == "res":  # a page turn is not a new search
            await catalogue.record_search(user.id, result)
        return
    if action == "open":
        program = await catalogue.program(callback_data.i)
        if program is None or program.municipality_id != t.municipality_id:
            await query.answer(t("program_gone"), show_alert=True)
            return
        await query.answer()
        name = content.current.municipality(program.municipality_id).name
        await _show(query, *program_card(t, program, search, callback_data.p, name))
        await catalogue.record_view(user.id, program)
        return
    await query.answer(t("forged_button"), show_alert=True)
