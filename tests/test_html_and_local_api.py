from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.utils.keyboard import InlineKeyboardBuilder
from hypothesis import given
from hypothesis import strategies as st

from bot.app import create_bot
from bot.html import escape, html_errors, split_text, strip_tags, visible_length
from bot.local_api import LocalBotSession
from bot.settings import Settings


@pytest.mark.parametrize(
    "text",
    [
        "<b>ok</b>",
        'a <a href="https://x.ru">link</a>',
        "&lt;tag&gt; &amp; &#123;",
        "<blockquote>q</blockquote>",
    ],
)
def test_valid_html(text: str) -> None:
    assert html_errors(text) == []


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<b>open", "unclosed"),
        ("<div>x</div>", "not supported"),
        ("a < b", "bare '<'"),
        ("Tom & Jerry", "bare '&'"),
        ("<b><i>x</b></i>", "unexpected"),
        ("<a>x</a>", "without href"),
        ("<br/>", "self-closing"),
    ],
)
def test_invalid_html(text: str, fragment: str) -> None:
    assert any(fragment in e for e in html_errors(text))
    russian = html_errors(text, russian=True)  # the same reasons, for staff in the bot
    assert len(russian) == len(html_errors(text)) and not any("Telegram" in e and "not" in e for e in russian)


@given(st.text(max_size=300))
def test_escaped_user_text_is_always_valid(text: str) -> None:
    assert html_errors(escape(text)) == []
    assert strip_tags(escape(text)) == text


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=20000), st.integers(50, 4096))
def test_split_text_respects_limit(text: str, limit: int) -> None:
    parts = split_text(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(" ", "")


def test_visible_length_counts_text_not_tags() -> None:
    assert visible_length("<b>" + "я" * 4096 + "</b>") == 4096


async def test_local_api_refuses_what_telegram_refuses() -> None:
    session = LocalBotSession()
    bot = create_bot(Settings(_env_file=None), session=session, token="42:t")  # type: ignore[call-arg]
    with pytest.raises(TelegramBadRequest, match="too long"):
        await bot.send_message(1, "я" * 4097)
    with pytest.raises(TelegramBadRequest, match="parse entities"):
        await bot.send_message(1, "<b>unclosed")
    kb = InlineKeyboardBuilder()
    kb.button(text="x", callback_data="x" * 65)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1, "ok", reply_markup=kb.as_markup())
    msg = await bot.send_message(1, "<b>ok</b>")
    with pytest.raises(TelegramBadRequest, match="not modified"):
        await bot.edit_message_text("<b>ok</b>", chat_id=1, message_id=msg.message_id)
    await bot.edit_message_text("changed", chat_id=1, message_id=msg.message_id)
    assert session.message(1, msg.message_id).text == "changed"  # type: ignore[union-attr]


async def test_local_api_injected_errors_raise_real_exceptions() -> None:
    session = LocalBotSession()
    bot = Bot(token="42:t", session=session)  # no sender: see the raw exceptions it would handle
    session.fail_next(429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as info:
        await bot.send_message(1, "x")
    assert info.value.retry_after == 7
    session.fail_next(403, "Forbidden: bot was blocked by the user", method="SendMessage")
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1, "x")
    await bot.send_message(1, "after")
    assert session.sent[-1].text == "after"
