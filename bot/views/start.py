"""What a person sees first: the greeting, the choice of the municipality, the consent that
names the operator (the МОЦ of that municipality) and what «Не согласен» means.

With several municipalities the municipality comes first, so the 152-ФЗ consent names the
МОЦ the parent will actually deal with; with one, the consent comes at once.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.content import Content
from bot.keyboards import consent_keyboard, declined_keyboard, municipality_keyboard

Screen = tuple[str, InlineKeyboardMarkup]


def known_place(content: Content, municipality_id: str | None) -> str | None:
    """The municipality whose МОЦ a consent names: the chosen one, or the only one."""
    if municipality_id in content.municipalities:
        return municipality_id
    return content.default_municipality_id if content.single_municipality else None


def greeting(content: Content, municipality_id: str | None) -> str:
    place = known_place(content, municipality_id)
    if place is None:
        return content.text("start.greeting_region")
    return content.text("greeting", place)


def _with_note(note: str, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


def municipality_screen(content: Content, note: str = "") -> Screen:
    items = [(m.id, m.name) for m in content.municipalities.values()]
    return _with_note(note, content.text("start.choose_municipality")), municipality_keyboard(items)


def consent_screen(content: Content, municipality_id: str, note: str = "") -> Screen:
    markup = consent_keyboard(municipality_id, can_change_place=not content.single_municipality)
    return _with_note(note, content.text("consent", municipality_id)), markup


def consent_request(content: Content, municipality_id: str | None, *, kept: bool) -> Screen:
    """What the consent gate shows to someone who has not consented yet."""
    note = content.text("consent_required", municipality_id)
    if kept:
        note += " " + content.text("start.question_kept", municipality_id)
    place = known_place(content, municipality_id)
    if place is None:
        return municipality_screen(content, note)
    return consent_screen(content, place, note)


def declined_screen(content: Content, municipality_id: str | None) -> Screen:
    """«Не согласен»: nothing is kept; the МОЦ's public contacts and the Navigator instead."""
    place = known_place(content, municipality_id) or content.default_municipality_id
    municipality = content.municipality(place)
    text = content.text("start.consent_declined", place)
    return text, declined_keyboard(municipality.navigator.url, place)
