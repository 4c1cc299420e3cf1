"""What an aiogram request becomes in MAX: HTML MAX keeps, texts cut to MAX's length, keyboards
laid out within MAX's limits, and the map between MAX's string message ids and aiogram's ints.

No I/O here: the session (`session.py`) calls these and sends the result.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.channels import LIMITS, Channel
from bot.html import truncate

logger = logging.getLogger(__name__)

# MAX takes 4,000 characters (NewMessageBody.text); maxapi refuses exactly 4,000 (`len < 4000`),
# so a MAX text is cut at 3,999, counted on the raw text with its markup (the strictest reading).
TEXT_LIMIT = min(LIMITS[Channel.MAX].text, 3999)
MAX_ROWS = LIMITS[Channel.MAX].rows  # 30
PER_ROW = LIMITS[Channel.MAX].per_row  # 7
PER_ROW_LINKS = LIMITS[Channel.MAX].per_row_links  # 3 in a row that holds a link
BUTTON_TEXT_LIMIT = 128
PAYLOAD_LIMIT = 1024

# --- HTML -----------------------------------------------------------------------------------------
# MAX's format=html knows b/strong i/em u/ins s/del a code pre mark h1 and silently strips every
# other tag. What mocbot sends beyond that (bot/html.py ALLOWED_TAGS: Telegram's set) is converted
# so that nothing is lost without a trace: a quote keeps its text on lines of its own, a spoiler
# shows its text, <strike> is <s>, a custom emoji shows its fallback character.
_BLOCKQUOTE = re.compile(r"</?blockquote(?:\s[^>]*)?>", re.IGNORECASE)
_DROPPED = re.compile(r"</?(?:tg-spoiler|span|tg-emoji)(?:\s[^>]*)?>", re.IGNORECASE)
_STRIKE = re.compile(r"<(/?)strike(\s[^>]*)?>", re.IGNORECASE)


def _quote_edge(match: re.Match[str]) -> str:
    text, start, end = match.string, match.start(), match.end()
    if match.group(0).startswith("</"):
        return "" if end >= len(text) or text[end] == "\n" else "\n"
    return "" if start == 0 or text[start - 1] == "\n" else "\n"


def to_max_html(text: str) -> str:
    """Telegram HTML → the HTML MAX renders (see above)."""
    if "<" not in text:
        return text
    text = _BLOCKQUOTE.sub(_quote_edge, text)
    text = _DROPPED.sub("", text)
    return _STRIKE.sub(lambda m: f"<{m.group(1)}s>", text)


_TOKEN = re.compile(r"<[^>]*>|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);|\s+|[^<&\s]+|[<&]")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")


def _apply(stack: list[tuple[str, str]], tokens: Sequence[str]) -> list[tuple[str, str]]:
    """The open tags (name, opening tag) after `tokens`, starting from `stack`."""
    stack = list(stack)
    for token in tokens:
        if not token.startswith("<"):
            continue
        match = _TAG.fullmatch(token)
        if match is None or match.group(3):
            continue
        closing, name = match.group(1), match.group(2).lower()
        if not closing:
            stack.append((name, token))
            continue
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] == name:
                del stack[i]
                break
    return stack


def _openers(stack: list[tuple[str, str]]) -> str:
    return "".join(tag for _, tag in stack)


def _closers(stack: list[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _visible(tokens: Sequence[str]) -> bool:
    return any(not t.startswith("<") and t.strip() for t in tokens)


def split_html(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut `text` into parts of at most `limit` characters (markup included) at paragraph, then
    line, then word boundaries, never inside a tag or an entity. A tag open across a cut is
    closed at the end of one part and opened again at the start of the next, so every part is
    balanced HTML. (bot/html.py `split_text` does the line packing for texts whose tags never
    span lines; MAX texts may hold a quote turned into lines, so this one tracks the tags.)"""
    if len(text) <= limit:
        return [text]
    tokens = _TOKEN.findall(text)
    assert "".join(tokens) == text
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # open at the start of the current part
    buf: list[str] = []

    def cost(items: Sequence[str]) -> int:
        return len(_openers(stack)) + sum(map(len, items)) + len(_closers(_apply(stack, items)))

    def flush(items: list[str]) -> None:
        nonlocal stack
        while items and not items[-1].startswith("<") and not items[-1].strip():
            items.pop()  # no trailing blank at a cut
        end = _apply(stack, items)
        if _visible(items):
            parts.append(_openers(stack) + "".join(items) + _closers(end))
        stack = end

    i = 0
    while i < len(tokens):
        token = tokens[i]
        if cost([*buf, token]) <= limit:
            if buf or token.startswith("<") or token.strip():  # no leading blank in a part
                buf.append(token)
            i += 1
            continue
        if _visible(buf):  # the part is full: cut it at its best break, carry the rest over
            cut = _best_break(buf)
            carry = buf[cut + 1 :] if cut is not None else []
            flush(buf[:cut] if cut is not None else buf)
            buf = carry
            while buf and not buf[0].startswith("<") and not buf[0].strip():
                buf.pop(0)
            continue
        # Nothing visible yet and the token alone does not fit: a word longer than a part.
        if token.isspace():
            i += 1
            continue
        room = limit - cost(buf)
        if token.startswith("<") or room <= 0:
            raise ValueError(f"cannot split the text into parts of {limit} characters")
        buf.append(token[:room])
        tokens[i] = token[room:]
        flush(buf)
        buf = []
    flush(buf)
    return parts


def _best_break(buf: Sequence[str]) -> int | None:
    """Index of the whitespace token to cut at: the last paragraph break in the second half of
    the part, else the last line break there, else the last space; None: cut after `buf`."""
    length = sum(map(len, buf))
    position, breaks = 0, []
    for index, token in enumerate(buf):
        if token.isspace():
            breaks.append((index, position, token))
        position += len(token)
    for marker in ("\n\n", "\n"):
        for index, at, token in reversed(breaks):
            if marker in token and at >= length // 2:
                return index
    for marker in ("\n\n", "\n", ""):
        for index, _at, token in reversed(breaks):
            if marker in token and index > 0:
                return index
    return None


# --- keyboards ------------------------------------------------------------------------------------
def _button(button: InlineKeyboardButton) -> dict[str, Any]:
    label = truncate(button.text, BUTTON_TEXT_LIMIT)
    if button.callback_data is not None:
        if len(button.callback_data) > PAYLOAD_LIMIT:
            raise ValueError(f"callback data of button {button.text!r} is above {PAYLOAD_LIMIT} characters")
        return {"type": "callback", "text": label, "payload": button.callback_data}
    if button.url is not None:
        return {"type": "link", "text": label, "url": button.url}
    raise ValueError(f"button {button.text!r} is neither a callback nor a url button: MAX has no equivalent")


def keyboard_rows(markup: InlineKeyboardMarkup, *, name: str = "") -> list[list[dict[str, Any]]]:
    """aiogram rows → MAX rows: a row is cut into rows of at most 7 buttons (3 when it holds a
    link); above 30 rows the rest is dropped with an ERROR (a refused message would lose all)."""
    rows: list[list[dict[str, Any]]] = []
    for row in markup.inline_keyboard:
        buttons = [_button(b) for b in row]
        width = PER_ROW_LINKS if any(b["type"] == "link" for b in buttons) else PER_ROW
        rows.extend(buttons[i : i + width] for i in range(0, len(buttons), width))
    if len(rows) > MAX_ROWS:
        first = ", ".join(repr(b["text"]) for b in rows[0][:3])
        logger.error(
            "keyboard %s(starting %s) has %d rows after the reflow, MAX takes %d: dropped rows %d..%d",
            f"{name} " if name else "",
            first,
            len(rows),
            MAX_ROWS,
            MAX_ROWS + 1,
            len(rows),
        )
        rows = rows[:MAX_ROWS]
    return rows


def keyboard_attachment(markup: InlineKeyboardMarkup, *, name: str = "") -> dict[str, Any] | None:
    rows = keyboard_rows(markup, name=name)
    return {"type": "inline_keyboard", "payload": {"buttons": rows}} if rows else None


def markup_from_max(attachments: Sequence[Any] | None) -> InlineKeyboardMarkup | None:
    """A MAX message's inline keyboard as aiogram's (for a pressed message's `reply_markup`)."""
    for attachment in attachments or ():
        if not isinstance(attachment, dict) or attachment.get("type") != "inline_keyboard":
            continue
        rows: list[list[InlineKeyboardButton]] = []
        for row in (attachment.get("payload") or {}).get("buttons") or []:
            out: list[InlineKeyboardButton] = []
            for b in row:
                if b.get("type") == "callback":
                    out.append(InlineKeyboardButton(text=b.get("text", ""), callback_data=b.get("payload")))
                elif b.get("type") == "link":
                    out.append(InlineKeyboardButton(text=b.get("text", ""), url=b.get("url")))
            if out:
                rows.append(out)
        return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
    return None


# --- message ids ----------------------------------------------------------------------------------
def message_id_of(mid: str) -> int:
    """A stable positive int for a MAX `mid` (53 bits of its BLAKE2b hash: the same across
    restarts and processes, exact in a JSON number, a collision about once in 10^15 pairs)."""
    digest = hashlib.blake2b(mid.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) or 1


@dataclass(frozen=True)
class Known:
    """What the adapter remembers about a MAX message it has seen."""

    mid: str
    files: tuple[dict[str, Any], ...] = ()  # file/image attachments to keep when the keyboard is edited


class MessageIds:
    """aiogram message_id → MAX message, a bounded LRU filled on send and on inbound updates."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._items: OrderedDict[int, Known] = OrderedDict()

    def remember(self, mid: str, files: Sequence[dict[str, Any]] = ()) -> int:
        message_id = message_id_of(mid)
        previous = self._items.pop(message_id, None)
        if previous is not None and previous.mid == mid and not files:
            files = previous.files
        self._items[message_id] = Known(mid, tuple(files))
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return message_id

    def get(self, message_id: int) -> Known | None:
        known = self._items.get(message_id)
        if known is not None:
            self._items.move_to_end(message_id)
        return known

    def __len__(self) -> int:
        return len(self._items)
