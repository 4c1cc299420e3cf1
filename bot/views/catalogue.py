"""Texts and keyboards of the search dialogue, program cards and import summaries.

Presentation only: what the catalogue service returned, rendered as Telegram HTML
(every catalogue- or file-provided string escaped) with inline keyboards.

The whole search state (direction, age, filters, page) travels in the callback
data, so «back» keeps every filter and a button works in any order. Free-text
keywords do not fit in 64 bytes: they stay in the FSM data, and the button only
says whether they apply (`k=1`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.directions import Direction
from bot.html import escape, truncate
from bot.services.catalogue.importer import describe, navigator_url
from bot.services.catalogue.query import MAX_AGE, MIN_AGE, AgeRange, years_word
from bot.services.catalogue.search import FORM_LABELS, FUNDING_LABELS, ProgramCard, ProgramHit, SearchFilters
from bot.services.catalogue.service import ImportPreview, SearchResult

PAGE_SIZE = 5
MAX_LISTED_ERRORS = 25
MAX_LISTED_IDS = 15


class SearchCD(CallbackData, prefix="ps"):
    a: str  # dir | age | flt | res | pg | open | new
    d: str = ""  # Direction.code, or "" for any
    g: str = ""  # age: "10" or "10-12", "" for any
    f: str = ""  # funding: free | cert | ""
    o: int = 0  # adapted for ОВЗ
    m: str = ""  # form: och | dist | mix | ""
    k: int = 0  # 1: the free-text keywords kept in the FSM data apply
    p: int = 0  # page
    i: int = 0  # program id (open)


class ImportCD(CallbackData, prefix="imp"):
    a: str  # apply | cancel
    t: str  # pending import id


class BadSearchData(ValueError):
    """Callback data that no button of ours could carry (forged or broken)."""


@dataclass(frozen=True)
class SearchState:
    direction: Direction | None = None
    age: AgeRange | None = None
    funding: str | None = None
    ovz: bool = False
    form: str | None = None
    keywords: bool = False

    @classmethod
    def from_cd(cls, cd: SearchCD) -> SearchState:
        direction = Direction.from_code(cd.d) if cd.d else None
        if cd.d and direction is None:
            raise BadSearchData("direction")
        age = AgeRange.parse_code(cd.g) if cd.g else None
        if cd.g and age is None:
            raise BadSearchData("age")
        if cd.f not in ("", "free", "cert") or cd.m not in ("", "och", "dist", "mix"):
            raise BadSearchData("filter")
        if cd.o not in (0, 1) or cd.k not in (0, 1) or cd.p < 0 or cd.p > 10_000:
            raise BadSearchData("flag")
        return cls(direction, age, cd.f or None, bool(cd.o), cd.m or None, bool(cd.k))

    def cd(self, action: str, page: int = 0, program_id: int = 0, **changes: object) -> SearchCD:
        data = {
            "a": action,
            "d": self.direction.code if self.direction else "",
            "g": str(self.age) if self.age else "",
            "f": self.funding or "",
            "o": int(self.ovz),
            "m": self.form or "",
            "k": int(self.keywords),
            "p": page,
            "i": program_id,
        }
        data.update(changes)
        return SearchCD(**data)

    def filters(self, municipality_id: str | None, keywords: tuple[str, ...]) -> SearchFilters:
        return SearchFilters(
            municipality_id=municipality_id,
            direction=self.direction,
            age=self.age,
            funding=self.funding,
            ovz=self.ovz,
            form=self.form,
            keywords=keywords if self.keywords else (),
        )

    def without(self, name: str) -> SearchState:
        values: dict[str, Any] = {
            "form": None, "ovz": False, "funding": None, "keywords": False, "age": None, "direction": None,
        }  # fmt: skip
        return replace(self, **{name: values[name]})


def describe_filters(state: SearchState, keywords: tuple[str, ...]) -> str:
    parts = [state.direction.title if state.direction else "любая направленность"]
    parts.append(state.age.label() if state.age else "любой возраст")
    if state.funding:
        parts.append(FUNDING_LABELS[state.funding])
    if state.ovz:
        parts.append("для детей с ОВЗ")
    if state.form:
        parts.append(FORM_LABELS[state.form])
    if state.keywords and keywords:
        parts.append("«" + " ".join(keywords) + "»")
    return escape(", ".join(parts))


FILTER_NAMES = {
    "form": "форма обучения",
    "ovz": "для детей с ОВЗ",
    "funding": "оплата",
    "keywords": "слова запроса",
    "age": "возраст",
    "direction": "направленность",
}


# --- steps ----------------------------------------------------------------------------------


def direction_step(state: SearchState) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    for d in Direction:
        kb.button(text=d.title.capitalize(), callback_data=state.cd("age", d=d.code))
    kb.button(text="Любая", callback_data=state.cd("age", d=""))
    kb.adjust(2)
    return "<b>Поиск кружка или секции</b>\nВыберите направленность:", kb.as_markup()


def age_step(state: SearchState, child_ages: Sequence[int]) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    saved = sorted({a for a in child_ages if MIN_AGE <= a <= MAX_AGE})
    for age in saved:
        kb.button(text=f"👶 {age} {years_word(age)}", callback_data=state.cd("flt", g=str(age)))
    for age in range(MIN_AGE, MAX_AGE + 1):
        kb.button(text=str(age), callback_data=state.cd("flt", g=str(age)))
    kb.button(text="Любой возраст", callback_data=state.cd("flt", g=""))
    kb.button(text="◀ Направленность", callback_data=state.cd("dir"))
    sizes = ([len(saved)] if saved else []) + [7, 7, 1, 1]
    kb.adjust(*sizes)
    direction = state.direction.title if state.direction else "любая"
    text = (
        f"Направленность: <b>{escape(direction)}</b>\n"
        "Сколько лет ребёнку? Нажмите кнопку или напишите возраст числом "
        "(например, «7» или «10-12»)."
    )
    if saved:
        text += "\nКнопки с 👶 — возраст ваших детей из настроек."
    return text, kb.as_markup()


def filter_step(state: SearchState, keywords: tuple[str, ...]) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()

    def mark(on: bool, label: str) -> str:
        return ("✅ " if on else "") + label

    kb.button(text=mark(state.funding == "free", "Бесплатно"),
              callback_data=state.cd("flt", f="" if state.funding == "free" else "free"))  # fmt: skip
    kb.button(text=mark(state.funding == "cert", "По сертификату"),
              callback_data=state.cd("flt", f="" if state.funding == "cert" else "cert"))  # fmt: skip
    kb.button(text=mark(state.ovz, "Для детей с ОВЗ"), callback_data=state.cd("flt", o=int(not state.ovz)))
    kb.button(text=mark(state.form == "och", "Очно"),
              callback_data=state.cd("flt", m="" if state.form == "och" else "och"))  # fmt: skip
    kb.button(text=mark(state.form == "dist", "Дистанционно"),
              callback_data=state.cd("flt", m="" if state.form == "dist" else "dist"))  # fmt: skip
    kb.button(text="🔎 Показать программы", callback_data=state.cd("res"))
    kb.button(text="◀ Возраст", callback_data=state.cd("age"))
    kb.adjust(2, 1, 2, 1, 1)
    text = (
        f"<b>Фильтры:</b> {describe_filters(state, keywords)}\n"
        "Можно уточнить оплату, ОВЗ и форму обучения или сразу смотреть программы."
    )
    return text, kb.as_markup()


def _funding_text(hit: ProgramHit | ProgramCard) -> str:
    label = FUNDING_LABELS.get(hit.funding, hit.funding)
    if hit.funding != "free" and hit.price:
        label += f", {hit.price} ₽/мес."
    return label


def results_page(
    state: SearchState, keywords: tuple[str, ...], hits: list[ProgramHit], total: int, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-total // PAGE_SIZE))
    lines = [
        f"<b>Нашлось программ: {total}</b> ({describe_filters(state, keywords)})",
        f"Страница {page + 1} из {pages}. Нажмите на программу, чтобы открыть карточку.",
        "",
    ]
    kb = InlineKeyboardBuilder()
    for n, hit in enumerate(hits, start=page * PAGE_SIZE + 1):
        ovz = " · ОВЗ" if hit.ovz else ""
        lines.append(
            f"{n}. <b>{escape(truncate(hit.title, 90))}</b> — {hit.age_from}–{hit.age_to} лет, "
            f"{escape(_funding_text(hit))}{ovz}\n    {escape(truncate(hit.organisation, 80))}"
        )
        kb.row(
            InlineKeyboardButton(
                text=f"{n}. {truncate(hit.title, 50)}",
                callback_data=state.cd("open", page=page, program_id=hit.id).pack(),
            )
        )
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=state.cd("pg", page=page - 1).pack()))
    if pages > 1:
        here = state.cd("pg", page=page).pack()
        nav.append(InlineKeyboardButton(text=f"{page + 1}/{pages}", callback_data=here))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(text="▶", callback_data=state.cd("pg", page=page + 1).pack()))
    if nav:
        kb.row(*nav)
    kb.row(
        InlineKeyboardButton(text="⚙️ Фильтры", callback_data=state.cd("flt").pack()),
        InlineKeyboardButton(text="🔄 Новый поиск", callback_data=SearchCD(a="new").pack()),
    )
    return "\n".join(lines), kb.as_markup()


def no_results(
    state: SearchState,
    keywords: tuple[str, ...],
    blocking: tuple[str, int] | None,
    empty_catalogue: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    text = f"По запросу ({describe_filters(state, keywords)}) программ не нашлось."
    if empty_catalogue:
        text = (
            "В каталоге бота пока нет программ вашего муниципалитета. Все программы региона есть "
            "в «Навигаторе»; если нужна помощь с выбором, задайте вопрос специалисту МОЦ."
        )
    elif blocking:
        name, count = blocking
        text += f"\nСписок пуст из-за фильтра «{FILTER_NAMES[name]}»: без него найдётся программ — {count}."
        kb.button(text=f"Убрать фильтр «{FILTER_NAMES[name]}»", callback_data=state.without(name).cd("res"))
    else:
        text += "\nПопробуйте другую направленность или возраст."
    kb.button(text="⚙️ Фильтры", callback_data=state.cd("flt"))
    kb.button(text="🔄 Новый поиск", callback_data=SearchCD(a="new"))
    kb.adjust(1)
    return text, kb.as_markup()


def search_results(
    state: SearchState, keywords: tuple[str, ...], result: SearchResult
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of results, or the explanation of an empty list."""
    if not result.total:
        return no_results(state, keywords, result.blocking, empty_catalogue=result.empty_catalogue)
    return results_page(state, keywords, list(result.hits), result.total, result.page)


def program_card(
    program: ProgramCard, state: SearchState, page: int, municipality: str
) -> tuple[str, InlineKeyboardMarkup]:
    direction = Direction.from_code(program.direction)
    lines = [f"<b>{escape(program.title)}</b>"]
    if direction:
        lines.append(f"Направленность: {escape(direction.title)}")
    lines.append(f"Возраст: {program.age_from}–{program.age_to} лет")
    if program.organisation:
        lines.append(f"Организация: {escape(program.organisation)}")
    address = ", ".join(p for p in (municipality, program.address) if p)
    if address:
        lines.append(f"Адрес: {escape(address)}")
    lines.append(f"Форма обучения: {escape(FORM_LABELS.get(program.form, program.form))}")
    lines.append(f"Оплата: {escape(_funding_text(program))}")
    if program.ovz:
        lines.append("Подходит детям с ОВЗ")
    if program.schedule:
        lines.append(f"Расписание: {escape(program.schedule)}")
    if program.description:
        lines.append("\n" + escape(truncate(program.description, 1500)))
    lines.append("\nЗаписаться можно в «Навигаторе» — кнопка ниже откроет страницу программы.")
    kb = InlineKeyboardBuilder()
    url = navigator_url(program.url) if program.url else None
    if url:
        kb.row(InlineKeyboardButton(text="🌐 Открыть в Навигаторе", url=url))
    kb.row(InlineKeyboardButton(text="◀ К списку", callback_data=state.cd("pg", page=page).pack()))
    return "\n".join(lines), kb.as_markup()


# --- import summary -------------------------------------------------------------------------


def _count_line(label: str, ids: Sequence[str]) -> str:
    """«Изменённые: 3 — id1, id2, id3», the ids cut after MAX_LISTED_IDS."""
    if not ids:
        return f"{label}: 0"
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    more = len(ids) - MAX_LISTED_IDS
    return f"{label}: {len(ids)} — " + escape(shown + (f" и ещё {more}" if more > 0 else ""))


def import_summary(preview: ImportPreview) -> str:
    parsed, plan = preview, preview.plan
    lines = [f"<b>Импорт каталога: {escape(truncate(preview.file_name or 'файл', 80))}</b>"]
    if parsed.file_error is not None:
        lines.append(f"Файл не принят: {escape(describe(parsed.file_error))}. Каталог не изменён.")
    else:
        lines.append(f"Строк с программами: {parsed.rows}.")
    if plan is not None:
        lines += [
            _count_line("Новые программы", plan.added),
            _count_line("Изменённые", plan.updated),
            f"Без изменений: {len(plan.unchanged)}",
            _count_line("Исчезнут из каталога", plan.removed),
        ]
    if parsed.unknown_columns:
        lines.append("Неизвестные столбцы (пропущены): " + escape(", ".join(parsed.unknown_columns[:20])))
    if parsed.row_errors:
        lines.append(
            f"\n<b>Ошибки в строках: {len(parsed.row_errors)}</b> — импорт невозможен, каталог не изменён."
        )
        for problem in parsed.row_errors[:MAX_LISTED_ERRORS]:
            lines.append("• " + escape(describe(problem)))
        if len(parsed.row_errors) > MAX_LISTED_ERRORS:
            lines.append(f"… и ещё {len(parsed.row_errors) - MAX_LISTED_ERRORS}")
        lines.append("Исправьте файл и пришлите его снова.")
    return "\n".join(lines)


def import_keyboard(token: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ Применить", callback_data=ImportCD(a="apply", t=token))
    kb.button(text="Отмена", callback_data=ImportCD(a="cancel", t=token))
    kb.adjust(2)
    return kb.as_markup()
