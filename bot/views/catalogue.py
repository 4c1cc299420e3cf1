"""Texts and keyboards of the search dialogue, program cards and import summaries.

Presentation only: what the catalogue service returned, rendered as Telegram HTML
(every catalogue- or file-provided string escaped) with inline keyboards. Every word
comes from `content/texts/catalogue.yaml` through `Texts`, so staff can edit it.

The whole search state (direction, age, filters, district, page) travels in the callback
data, so «back» keeps every filter and a button works in any order. Free-text keywords
do not fit in 64 bytes: they stay in the FSM data, and the button only says whether they
apply (`k=1`); a district travels as a 6-digit code of its name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.content import Content
from bot.directions import Direction
from bot.html import escape, truncate
from bot.keyboards import MenuCD, menu_button_label
from bot.services.catalogue.importer import COLUMNS, MAX_IMPORT_AGE, MIN_IMPORT_AGE, Problem, navigator_url
from bot.services.catalogue.query import (
    MAX_AGE,
    MIN_AGE,
    AgeRange,
    join_phrases,
    subject_phrase,
)
from bot.services.catalogue.search import ProgramCard, ProgramHit, SearchFilters, district_code
from bot.services.catalogue.service import ImportPreview, SearchResult
from bot.services.catalogue.store import ImportPlan

PAGE_SIZE = 5
MAX_LISTED_ERRORS = 25
MAX_LISTED_PROGRAMS = 15
MAX_DISTRICT_BUTTONS = 8
_DISTRICT_CODE = re.compile(r"^[0-9a-f]{6}$")


class SearchCD(CallbackData, prefix="ps"):
    a: str  # dir | age | flt | res | pg | open | new | quit
    d: str = ""  # Direction.code, or "" for any
    g: str = ""  # age: "10" or "10-12", "" for any
    f: str = ""  # funding: free | cert | ""
    o: int = 0  # adapted for ОВЗ
    m: str = ""  # form: och | dist | mix | ""
    k: int = 0  # 1: the free-text keywords kept in the FSM data apply
    p: int = 0  # page
    i: int = 0  # program id (open)
    r: str = ""  # district_code() of a district, "" for any


class ImportCD(CallbackData, prefix="imp"):
    a: str  # apply | cancel | quit (leave the /import prompt)
    t: str  # pending import id
    n: int = 0  # how many removals the staff member confirmed


class BadSearchData(ValueError):
    """Callback data that no button of ours could carry (forged or broken)."""


@dataclass(frozen=True)
class Texts:
    """The catalogue's texts for one municipality: `t("card_ovz")`."""

    content: Content
    municipality_id: str | None

    def __call__(self, key: str, **params: object) -> str:
        return self.content.text(f"catalogue.{key}", self.municipality_id, **params)

    @property
    def certificate_ages(self) -> tuple[int, int]:
        """The ages a certificate is issued for here: from min_age until the max_age birthday."""
        certificate = self.content.municipality(self.municipality_id).certificate
        return certificate.min_age, certificate.max_age


@dataclass(frozen=True)
class SearchState:
    direction: Direction | None = None
    age: AgeRange | None = None
    funding: str | None = None
    ovz: bool = False
    form: str | None = None
    keywords: bool = False
    district: str | None = None  # district_code()

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
        if cd.r and not _DISTRICT_CODE.match(cd.r):
            raise BadSearchData("district")
        return cls(direction, age, cd.f or None, bool(cd.o), cd.m or None, bool(cd.k), cd.r or None)

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
            "r": self.district or "",
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
            district=self.district,
        )

    def without(self, name: str) -> SearchState:
        values: dict[str, Any] = {
            "form": None, "ovz": False, "funding": None, "keywords": False, "age": None, "direction": None,
            "district": None,
        }  # fmt: skip
        return replace(self, **{name: values[name]})


def _menu_button(kb: InlineKeyboardBuilder) -> None:
    kb.row(InlineKeyboardButton(text=menu_button_label(), callback_data=MenuCD(item="main").pack()))


def ages_text(t: Texts, low: int, high: int) -> str:
    """«7–10 лет», «3–4 года», «5 лет»."""
    return t("ages_one", age=high) if low == high else t("ages", low=low, high=high)


def subject_words(t: Texts, keywords: Sequence[str]) -> str | None:
    """«по футболу и плаванию»; «по запросу «…»» only for words nothing knows (escaped)."""
    phrases = [subject_phrase(k) for k in keywords]
    known = [p for p in phrases if p]
    unknown = [k for k, p in zip(keywords, phrases, strict=True) if not p]
    if unknown:
        known.append(t("title.query", words=" ".join(unknown)))
    return escape(join_phrases(known)) if known else None


def search_title(t: Texts, state: SearchState, keywords: tuple[str, ...], district: str | None = None) -> str:
    """«Кружки по футболу для 8 лет», «Бесплатные кружки технической направленности»."""
    subject = subject_words(t, keywords) if state.keywords and keywords else None
    head: list[str] = []
    if subject:
        head.append(subject)
    elif state.direction:
        head.append(t("title.direction", direction=escape(state.direction.genitive)))
    if state.age:
        head.append(t("title.age", age=str(state.age).replace("-", "–")))
    extras: list[str] = []
    if state.funding == "cert":
        extras.append(t("title.cert"))
    if state.ovz:
        extras.append(t("title.ovz"))
    if state.form:
        extras.append(t(f"form.{state.form}"))
    if district:
        extras.append(t("title.district", district=escape(district)))
    if not head and not extras and state.funding != "free":
        return t("title.all")
    base = t("title.free") if state.funding == "free" else t("title.base")
    return ", ".join([" ".join([base, *head]), *extras])


def describe_filters(
    t: Texts, state: SearchState, keywords: tuple[str, ...], district: str | None = None
) -> str:
    parts = [escape(state.direction.title) if state.direction else t("any_direction")]
    parts.append(ages_text(t, state.age.low, state.age.high) if state.age else t("any_age"))
    if state.funding:
        parts.append(t(f"funding.{state.funding}"))
    if state.ovz:
        parts.append(t("ovz_words"))
    if state.form:
        parts.append(t(f"form.{state.form}"))
    if state.keywords and keywords:
        subject = subject_words(t, keywords)
        if subject:
            parts.append(subject)
    if district:
        parts.append(t("title.district", district=escape(district)))
    return ", ".join(parts)


def _certificate_note(t: Texts, state: SearchState) -> str | None:
    """Paying with a certificate for an age it is not issued for: say so (only then)."""
    if state.funding != "cert" or state.age is None:
        return None
    low, high = t.certificate_ages
    if state.age.high < low or state.age.low >= high:
        return t("cert_age_note", age=str(state.age).replace("-", "–"))
    return None


# --- steps ----------------------------------------------------------------------------------


def direction_step(t: Texts, state: SearchState) -> tuple[str, InlineKeyboardMarkup]:
    """The six направленности; with the age already known (typed), a choice shows results."""
    kb = InlineKeyboardBuilder()
    action = "res" if state.age else "age"
    for d in Direction:
        kb.button(text=d.title.capitalize(), callback_data=state.cd(action, d=d.code))
    kb.button(text=t("direction_any"), callback_data=state.cd(action, d=""))
    kb.adjust(2)
    _menu_button(kb)
    if state.age:
        return t("direction_prompt_age", age=ages_text(t, state.age.low, state.age.high)), kb.as_markup()
    return t("direction_prompt"), kb.as_markup()


def age_step(t: Texts, state: SearchState, child_ages: Sequence[int]) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    saved = sorted({a for a in child_ages if MIN_AGE <= a <= MAX_AGE})
    for age in saved:
        kb.button(text=t("age_saved_button", age=age), callback_data=state.cd("flt", g=str(age)))
    for age in range(MIN_AGE, MAX_AGE + 1):
        kb.button(text=str(age), callback_data=state.cd("flt", g=str(age)))
    kb.button(text=t("age_any"), callback_data=state.cd("flt", g=""))
    kb.button(text=t("back_to_directions"), callback_data=state.cd("dir"))
    kb.button(text=t("cancel_button"), callback_data=SearchCD(a="quit"))
    per_row = 8
    ages = MAX_AGE - MIN_AGE + 1
    sizes = ([len(saved)] if saved else []) + [per_row] * (ages // per_row)
    if ages % per_row:
        sizes.append(ages % per_row)
    kb.adjust(*sizes, 1, 2)
    direction = escape(state.direction.title) if state.direction else t("age_prompt_any_direction")
    text = t("age_prompt", direction=direction)
    if saved:
        text += "\n" + t("age_saved_hint")
    return text, kb.as_markup()


def filter_step(
    t: Texts, state: SearchState, keywords: tuple[str, ...], district: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """Funding, ОВЗ and form; the district chosen in the results (`district`, its name) can be
    dropped here too."""
    kb = InlineKeyboardBuilder()

    def mark(on: bool, key: str) -> str:
        label = t(key)
        return t("filter_on", label=label) if on else label

    kb.button(text=mark(state.funding == "free", "filter_free"),
              callback_data=state.cd("flt", f="" if state.funding == "free" else "free"))  # fmt: skip
    kb.button(text=mark(state.funding == "cert", "filter_cert"),
              callback_data=state.cd("flt", f="" if state.funding == "cert" else "cert"))  # fmt: skip
    kb.button(text=mark(state.ovz, "filter_ovz"), callback_data=state.cd("flt", o=int(not state.ovz)))
    kb.button(text=mark(state.form == "och", "filter_och"),
              callback_data=state.cd("flt", m="" if state.form == "och" else "och"))  # fmt: skip
    kb.button(text=mark(state.form == "dist", "filter_dist"),
              callback_data=state.cd("flt", m="" if state.form == "dist" else "dist"))  # fmt: skip
    sizes = [2, 1, 2]
    if state.district and district:
        label = t("title.district", district=truncate(district, 40))
        kb.button(text=t("filter_on", label=label), callback_data=state.cd("flt", r=""))
        sizes.append(1)
    kb.button(text=t("show_results"), callback_data=state.cd("res"))
    kb.button(text=t("back_to_age"), callback_data=state.cd("age"))
    kb.adjust(*sizes, 1, 1)
    text = t("filters_prompt", filters=describe_filters(t, state, keywords, district))
    note = _certificate_note(t, state)
    if note:
        text += "\n\n" + note
    return text, kb.as_markup()


def search_cancelled(t: Texts) -> str:
    return t("search_cancelled")


def age_out_of_range(t: Texts) -> str:
    return t("age_out_of_range", low=MIN_AGE, high=MAX_AGE)


# --- results --------------------------------------------------------------------------------


def _funding_text(t: Texts, hit: ProgramHit | ProgramCard) -> str:
    label = t(f"funding.{hit.funding}") if hit.funding in ("free", "cert", "paid") else escape(hit.funding)
    if hit.funding != "free" and hit.price:
        return t("funding_price", funding=label, price=hit.price)
    return label


def _named_in(district: str, address: str) -> bool:
    """Whether the address already says the district («мкр. Мирный, д. 2»)."""
    return district.lower().replace("ё", "е") in address.lower().replace("ё", "е")


def _place(hit: ProgramHit) -> str:
    """«Центральный, ул. Ленина, 5»: the district unless the address already names it."""
    address, district = hit.address.strip(), hit.district.strip()
    if district and not _named_in(district, address):
        return ", ".join(p for p in (district, address) if p)
    return address


def _district_buttons(t: Texts, state: SearchState, result: SearchResult) -> list[InlineKeyboardButton]:
    if state.district:
        return [InlineKeyboardButton(text=t("all_districts"), callback_data=state.cd("res", r="").pack())]
    if len(result.districts) < 2:
        return []
    return [
        InlineKeyboardButton(
            text=t("district_button", district=truncate(name, 40), count=count),
            callback_data=state.cd("res", r=district_code(name)).pack(),
        )
        for name, count in result.districts[:MAX_DISTRICT_BUTTONS]
    ]


def results_page(
    t: Texts,
    state: SearchState,
    keywords: tuple[str, ...],
    result: SearchResult,
    *,
    nearby: bool = False,
) -> tuple[str, InlineKeyboardMarkup]:
    total, page, hits = result.total, result.page, list(result.hits)
    pages = max(1, -(-total // PAGE_SIZE))
    lines = [t("results_header", title=search_title(t, state, keywords, result.district), count=total)]
    districts = _district_buttons(t, state, result)
    if nearby and not state.district:
        lines.append(t("nearby_note") if districts else t("nearby_note_no_districts"))
    note = _certificate_note(t, state)
    if note:
        lines.append(note)
    lines.append(t("results_pages", page=page + 1, pages=pages) if pages > 1 else t("results_hint"))
    lines.append("")
    kb = InlineKeyboardBuilder()
    for n, hit in enumerate(hits, start=page * PAGE_SIZE + 1):
        item = t(
            "results_item",
            n=n,
            title=escape(truncate(hit.title, 90)),
            ages=ages_text(t, hit.age_from, hit.age_to),
            funding=_funding_text(t, hit),
        )
        if hit.ovz:
            item += " · " + t("results_ovz")
        if hit.organisation:
            item += "\n    " + escape(truncate(hit.organisation, 80))
        place = _place(hit)
        if place:
            item += "\n    " + t("results_place", place=escape(truncate(place, 100)))
        lines.append(item)
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
    for start in range(0, len(districts), 2):
        kb.row(*districts[start : start + 2])
    if note:
        kb.row(_drop_button(t, state, "funding"))
    kb.row(
        InlineKeyboardButton(text=t("filters_button"), callback_data=state.cd("flt").pack()),
        InlineKeyboardButton(text=t("new_search"), callback_data=SearchCD(a="new").pack()),
    )
    _menu_button(kb)
    return "\n".join(lines), kb.as_markup()


def _drop_button(t: Texts, state: SearchState, name: str) -> InlineKeyboardButton:
    label = t(f"filter_name.{name}")
    return InlineKeyboardButton(
        text=t("drop_filter", filter=label), callback_data=state.without(name).cd("res").pack()
    )


def no_results(
    t: Texts, state: SearchState, keywords: tuple[str, ...], result: SearchResult
) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    if result.empty_catalogue:
        text = t("empty_catalogue")
    else:
        lines = [t("empty_header", title=search_title(t, state, keywords, result.district))]
        note = _certificate_note(t, state)
        if note:
            lines.append(note)
        if result.blocking and result.blocking[0] != "keywords":
            name, count = result.blocking
            lines.append(t("empty_blocking", filter=t(f"filter_name.{name}"), count=count))
            kb.row(_drop_button(t, state, name))
        elif note:
            kb.row(_drop_button(t, state, "funding"))
        else:
            lines.append(t("empty_hint_words") if state.keywords and keywords else t("empty_hint"))
        text = "\n".join(lines)
    kb.row(InlineKeyboardButton(text=t("filters_button"), callback_data=state.cd("flt").pack()))
    kb.row(InlineKeyboardButton(text=t("new_search"), callback_data=SearchCD(a="new").pack()))
    _menu_button(kb)
    return text, kb.as_markup()


def search_results(
    t: Texts, state: SearchState, keywords: tuple[str, ...], result: SearchResult, *, nearby: bool = False
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of results, or the explanation of an empty list."""
    if not result.total:
        return no_results(t, state, keywords, result)
    return results_page(t, state, keywords, result, nearby=nearby)


def program_card(
    t: Texts, program: ProgramCard, state: SearchState, page: int, municipality: str
) -> tuple[str, InlineKeyboardMarkup]:
    direction = Direction.from_code(program.direction)
    lines = [f"<b>{escape(program.title)}</b>"]
    if direction:
        lines.append(t("card_direction", direction=escape(direction.title)))
    lines.append(t("card_ages", ages=ages_text(t, program.age_from, program.age_to)))
    if program.organisation:
        lines.append(t("card_organisation", organisation=escape(program.organisation)))
    address = ", ".join(p for p in (municipality, program.address) if p)
    if address:
        lines.append(t("card_address", address=escape(address)))
    if program.district and not _named_in(program.district, program.address):
        lines.append(t("card_district", district=escape(program.district)))
    if program.form in ("och", "dist", "mix"):
        lines.append(t("card_form", form=t(f"form.{program.form}")))
    lines.append(t("card_funding", funding=_funding_text(t, program)))
    if program.ovz:
        lines.append(t("card_ovz"))
    if program.schedule:
        lines.append(t("card_schedule", schedule=escape(program.schedule)))
    if program.funding == "cert" and program.age_from < t.certificate_ages[0]:
        lines.append(t("card_cert_age"))
    if program.description:
        lines.append("\n" + escape(truncate(program.description, 1500)))
    url = navigator_url(program.url) if program.url else None
    lines.append("\n" + (t("card_signup_link") if url else t("card_signup_no_link")))
    kb = InlineKeyboardBuilder()
    if url:
        kb.row(InlineKeyboardButton(text=t("card_open"), url=url))
    kb.row(InlineKeyboardButton(text=t("back_to_list"), callback_data=state.cd("pg", page=page).pack()))
    _menu_button(kb)
    return "\n".join(lines), kb.as_markup()


# --- import summary -------------------------------------------------------------------------


def problem_text(t: Texts, problem: Problem) -> str:
    """One file or row problem in Russian, with the row when there is one."""
    values = tuple(v[:80] for v in problem.values)
    code = problem.code

    def column(field: str) -> str:
        return COLUMNS.get(field, (field,))[0]

    params: dict[str, object]
    if code in ("required", "duplicate_column"):
        params = {"column": escape(column(values[0]))}
    elif code == "too_long":
        params = {"column": escape(column(values[0])), "limit": values[1]}
    elif code == "not_number":
        params = {"column": escape(column(values[0])), "value": escape(values[1])}
    elif code == "age_range":
        params = {"column": escape(column(values[0])), "value": escape(values[1]),
                  "low": MIN_IMPORT_AGE, "high": MAX_IMPORT_AGE}  # fmt: skip
    elif code == "age_order":
        params = {"low": values[0], "high": values[1]}
    elif code == "missing_columns":
        params = {"columns": escape(", ".join(f"«{column(v)}»" for v in values))}
    elif code == "too_big":
        params = {"mb": values[0]}
    elif code == "municipality":
        known = ", ".join(m.name for m in t.content.municipalities.values())
        params = {"value": escape(values[0]), "known": escape(known)}
    elif code == "duplicate":
        params = {"value": escape(values[0]), "first": values[1]}
    elif values:
        params = {"value": escape(values[0])}
    else:
        params = {}
    text = t(f"import_problem.{code}", **params)
    return t("import_row", row=problem.row, problem=text) if problem.row is not None else text


def _program_lines(t: Texts, plan: ImportPlan, ids: Sequence[str], *, bold: bool = False) -> list[str]:
    lines = []
    for external_id in ids[:MAX_LISTED_PROGRAMS]:
        title = escape(truncate(plan.title(external_id), 90))
        line = t("import_program", title=title, id=escape(external_id))
        lines.append(f"<b>{line}</b>" if bold else line)
    if len(ids) > MAX_LISTED_PROGRAMS:
        lines.append(t("import_more", count=len(ids) - MAX_LISTED_PROGRAMS))
    return lines


def import_summary(t: Texts, preview: ImportPreview) -> str:
    parsed, plan = preview, preview.plan
    lines = [t("import_summary_title", file=escape(truncate(preview.file_name or "—", 80)))]
    if parsed.file_error is not None:
        lines.append(t("import_file_refused", reason=problem_text(t, parsed.file_error)))
    else:
        lines.append(t("import_rows", count=parsed.rows))
    if plan is not None:
        lines.append(t("import_added", count=len(plan.added)))
        lines += _program_lines(t, plan, plan.added)
        lines.append(t("import_updated", count=len(plan.updated)))
        lines += _program_lines(t, plan, plan.updated)
        lines.append(t("import_unchanged", count=len(plan.unchanged)))
        if plan.removed:
            lines.append("")
            lines.append(t("import_removed", count=len(plan.removed)))
            lines += _program_lines(t, plan, plan.removed, bold=True)
    if parsed.unknown_columns:
        lines.append(t("import_unknown_columns", columns=escape(", ".join(parsed.unknown_columns[:20]))))
    if parsed.row_errors:
        lines.append("")
        lines.append(t("import_errors", count=len(parsed.row_errors)))
        for problem in parsed.row_errors[:MAX_LISTED_ERRORS]:
            lines.append("• " + problem_text(t, problem))
        if len(parsed.row_errors) > MAX_LISTED_ERRORS:
            lines.append(t("import_more", count=len(parsed.row_errors) - MAX_LISTED_ERRORS))
        lines.append(t("import_fix"))
    return "\n".join(lines)


def import_question(t: Texts, plan: ImportPlan) -> str:
    if plan.removed:
        return t("import_ask_remove", count=len(plan.removed))
    return t("import_ask")


def import_keyboard(t: Texts, token: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=t("import_apply_button"), callback_data=ImportCD(a="apply", t=token))
    kb.button(text=t("import_cancel_button"), callback_data=ImportCD(a="cancel", t=token))
    kb.adjust(2)
    return kb.as_markup()


def removal_question(t: Texts, token: str, removed: int) -> tuple[str, InlineKeyboardMarkup]:
    """The second question before an import removes programs."""
    kb = InlineKeyboardBuilder()
    kb.button(
        text=t("import_remove_button", count=removed), callback_data=ImportCD(a="apply", t=token, n=removed)
    )
    kb.button(text=t("import_cancel_button"), callback_data=ImportCD(a="cancel", t=token))
    kb.adjust(1)
    return t("import_confirm_remove", count=removed), kb.as_markup()


def import_prompt_keyboard(t: Texts) -> InlineKeyboardMarkup:
    """«Отмена» under the /import prompt."""
    kb = InlineKeyboardBuilder()
    kb.button(text=t("import_cancel_button"), callback_data=ImportCD(a="quit", t=""))
    return kb.as_markup()
