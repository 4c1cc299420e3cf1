"""Dialog helpers every router shares: leaving a dialog, and what waits before consent.

Leaving: /cancel, the «Отмена» button (`bot.keyboards.cancel_keyboard`) and a cancel word
written alone («отмена», «стоп», «назад», «не надо»…, the list is the text
`common.cancel_words`) all leave whatever dialog the person is in. One handler takes
them before any feature's router (handlers/start.py), so a dialog never receives
«отмена» as its answer — a question for staff, an event's title, a broadcast.

Before consent nothing about a person is stored in the database. What they did before
pressing «Согласен» — a question they typed, the municipality they chose — waits in the
FSM (memory or Redis) and is used, then dropped, right after consent.
"""

from __future__ import annotations

import time
from typing import Any

from aiogram.filters import BaseFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot import texts

CANCEL_COMMAND = "/cancel"
CANCEL_WORDS_KEY = "common.cancel_words"
_LONGEST_CANCEL = 40  # longer texts are never a cancel word, whatever the list says

KEPT = "kept_questions"  # FSM data: questions typed before consent, [{"id", "text", "at"}]
PLACE = "consent_municipality"  # FSM data: the municipality chosen before consent
MAX_KEPT = 3
KEPT_TEXT_LIMIT = 4000
KEPT_FOR = 24 * 3600  # seconds: a question from yesterday is not answered after today's consent


def is_cancel(text: str | None) -> bool:
    """/cancel (also /cancel@bot), or one of the cancel words written alone."""
    if not text:
        return False
    stripped = text.strip()
    if stripped.startswith("/"):
        return stripped.split()[0].split("@")[0].lower() == CANCEL_COMMAND
    if len(stripped) > _LONGEST_CANCEL:
        return False
    return texts.normalize_phrase(stripped) in texts.phrases(CANCEL_WORDS_KEY)


# Dialogs whose own handler answers a cancel word with words of its own (the settings
# screen again; a sign-up kept without the name; «Рассылка не создана»): the one cancel
# handler lets them through. A state group's name covers all its steps. Named here, not
# registered on import.
OWN_CANCEL_STATES = frozenset(
    {"SettingsForm:ages", "SignupForm", "EventForm", "BroadcastForm", "LogDialog", "LogEdit", "StaffAdd"}
)


def handles_own_cancel(raw_state: str | None) -> bool:
    if raw_state is None:
        return False
    return raw_state in OWN_CANCEL_STATES or raw_state.split(":", 1)[0] in OWN_CANCEL_STATES


class CancelRequest(BaseFilter):
    """Passes a message that asks to leave the dialog (see `is_cancel`)."""

    async def __call__(self, message: Message, raw_state: str | None = None) -> bool:
        if handles_own_cancel(raw_state):
            return False
        return is_cancel(message.text)


# --- before consent ---------------------------------------------------------------------------
async def keep_question(state: FSMContext, message: Message) -> bool:
    """Keep a question typed before consent (the last few); False when it is not a question."""
    text = (message.text or "").strip()
    if not text or text.startswith("/") or is_cancel(text):
        return False
    kept = await kept_questions(state)
    kept.append({"id": message.message_id, "text": text[:KEPT_TEXT_LIMIT], "at": time.time()})
    await state.update_data({KEPT: kept[-MAX_KEPT:]})
    return True


async def kept_questions(state: FSMContext) -> list[dict[str, Any]]:
    """The questions kept before consent, oldest first; older than a day they are dropped."""
    data = await state.get_data()
    fresh_since = time.time() - KEPT_FOR
    return [
        dict(item)
        for item in data.get(KEPT, [])
        if isinstance(item, dict) and item.get("text") and float(item.get("at") or 0) >= fresh_since
    ]


async def chosen_place(state: FSMContext) -> str | None:
    value = (await state.get_data()).get(PLACE)
    return str(value) if value else None


async def choose_place(state: FSMContext, municipality_id: str | None) -> None:
    await state.update_data({PLACE: municipality_id})


async def restart(state: FSMContext) -> None:
    """/start before consent: any dialog and the municipality chosen so far go; the questions
    typed so far stay, to be answered after consent."""
    kept = await kept_questions(state)
    await state.clear()
    if kept:
        await state.update_data({KEPT: kept})
