"""Telegram HTML helpers: escaping, validation and splitting to the 4096 limit."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

# Tags the Bot API accepts in parse_mode=HTML (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
        "span", "tg-spoiler", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_TAG_RE = re.compile(r"<[^>]+>")


def escape(text: str) -> str:
    """Escape user text for an HTML message (quotes stay as they are)."""
    return html.escape(text, quote=False)


def strip_tags(text: str) -> str:
    """Plain text of a Telegram HTML string (entities decoded)."""
    return html.unescape(_TAG_RE.sub("", text))


def visible_length(text: str) -> int:
    """Length Telegram counts against the limits: the text after entity parsing."""
    return len(strip_tags(text))


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[tuple[str, str]] = []  # (English for operators, Russian for staff)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(
                (f"tag <{tag}> is not supported by Telegram", f"тег <{tag}> Telegram не поддерживает")
            )
            return
        if tag == "a" and not dict(attrs).get("href"):
            self.errors.append(("<a> without href", "у ссылки <a> нет адреса href"))
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            self.errors.append(
                (
                    '<span> is allowed only as <span class="tg-spoiler">',
                    '<span> можно только как <span class="tg-spoiler">',
                )
            )
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(
                (f"tag </{tag}> is not supported by Telegram", f"тег </{tag}> Telegram не поддерживает")
            )
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append((f"unexpected </{tag}>", f"лишний закрывающий тег </{tag}>"))
            return
        self.stack.pop()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(
            (f"self-closing <{tag}/> is not supported by Telegram", f"тег <{tag}/> Telegram не поддерживает")
        )


_BARE_LT = re.compile(r"<(?![a-zA-Z/])")
_BAD_AMP = re.compile(r"&(?!(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)")


def html_errors(text: str, russian: bool = False) -> list[str]:
    """Reasons Telegram would refuse `text` as an HTML message; empty when fine. In English
    for operators (content check, logs), in Russian for staff composing a message in the bot."""
    errors: list[tuple[str, str]] = []
    if _BARE_LT.search(text):
        errors.append(("a bare '<' must be written as &lt;", "знак «<» нужно писать как &lt;"))
    if _BAD_AMP.search(text):
        errors.append(("a bare '&' must be written as &amp;", "знак «&» нужно писать как &amp;"))
    checker = _Checker()
    try:
        checker.feed(text)
        checker.close()
    except Exception as exc:  # HTMLParser raises on pathological input
        errors.append((f"unparsable HTML: {exc}", "разметку невозможно разобрать"))
    errors.extend(checker.errors)
    if checker.stack:
        tags = ", ".join(f"<{t}>" for t in checker.stack)
        errors.append((f"unclosed tag(s): {tags}", f"не закрыт тег {tags}"))
    return [ru if russian else en for en, ru in errors]


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split plain (already escaped, tag-free between lines) text into parts <= limit.

    Splits on paragraph, then line, then space boundaries. Meant for texts built
    line by line (lists, reports) where tags never span lines.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def truncate(text: str, limit: int) -> str:
    """Plain-text truncation with an ellipsis (for quoting user text back)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
