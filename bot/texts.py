"""The live UI texts for code that is not handed the content store: keyboards, cancel words.

Handlers read texts from the `content` they are given (`content.current.text(...)`).
Keyboard builders are called from everywhere without it, so `create_dispatcher` binds
the store here once; a /reload is seen at once. Until something is bound (a unit test
that builds a keyboard alone), the shipped `content/` is read once.
"""

from __future__ import annotations

import functools
import re

from bot.content import Content, ContentStore, load_content

_NOT_WORD = re.compile(r"[^\w ]+")


class _Live:
    store: ContentStore | None = None
    shipped: Content | None = None


def bind(store: ContentStore) -> None:
    _Live.store = store


def current() -> Content:
    if _Live.store is not None:
        return _Live.store.current
    if _Live.shipped is None:
        from bot.settings import PROJECT_ROOT

        _Live.shipped = load_content(PROJECT_ROOT / "content", sections={})
    return _Live.shipped


def text(key: str, municipality_id: str | None = None, **params: object) -> str:
    """`Content.text` of the live content."""
    return current().text(key, municipality_id, **params)


def has(key: str) -> bool:
    return current().has_text(key)


def normalize_phrase(value: str) -> str:
    """«Отмена!», « не  НАДО » → «отмена», «не надо»: lower case, ё→е, no punctuation or emoji."""
    plain = _NOT_WORD.sub(" ", value.lower().replace("ё", "е")).replace("_", " ")
    return " ".join(plain.split())


@functools.lru_cache(maxsize=32)
def _split_phrases(raw: str) -> frozenset[str]:
    return frozenset(p for p in (normalize_phrase(part) for part in raw.split(",")) if p)


def phrases(key: str) -> frozenset[str]:
    """A comma-separated list text (such as `common.cancel_words`) as normalised phrases."""
    return _split_phrases(text(key))
