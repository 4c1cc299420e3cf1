"""Words of the outreach log: audiences, kinds of activity, formats.

Codes are short ASCII (they go into callback data, JSON and the database);
labels are the exact Russian words of the report. Parsing is forgiving about
case, endings and a few synonyms people and spreadsheets use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.directions import Direction, parse_direction


@dataclass(frozen=True)
class Term:
    code: str
    label: str  # as a button / table header
    # For the report sentence: «мероприятий для родителей»
    phrase: str
    stems: tuple[str, ...]


AUDIENCES: tuple[Term, ...] = (
    Term("parents", "Родители", "для родителей", ("родител", "parent", "семь", "законн")),
    Term(
        "students",
        "Обучающиеся",
        "для обучающихся",
        ("обучающ", "учащ", "student", "дет", "школьн", "ученик"),
    ),
    Term(
        "educators", "Педагоги", "для педагогов", ("педагог", "educator", "учител", "воспитател", "методист")
    ),
    Term("other", "Прочие", "для других участников", ("проч", "друг", "other", "иные", "смешан")),
)

KINDS: tuple[Term, ...] = (
    Term(
        "meeting",
        "Родительское собрание",
        "родительские собрания",
        ("родительскоесобран", "собран", "meeting"),
    ),
    Term(
        "open_day",
        "День открытых дверей",
        "дни открытых дверей",
        ("деньоткрыт", "дниоткрыт", "открытыхдвер", "open"),
    ),
    Term("consultation", "Консультация", "консультации", ("консультац", "consult")),
    Term("master_class", "Мастер-класс", "мастер-классы", ("мастеркласс", "master")),
    Term(
        "seminar",
        "Семинар, методическое совещание",
        "семинары и методические совещания",
        ("семинар", "методическ", "совещан", "методобъедин", "педсовет", "педагогическийсовет", "seminar"),
    ),
    Term("round_table", "Круглый стол", "круглые столы", ("круглыйстол", "круглстол", "round")),
    Term(
        "competition", "Конкурс", "конкурсы", ("конкурс", "олимпиад", "соревнован", "фестивал", "competition")
    ),
    Term(
        "publication",
        "Публикация в СМИ",
        "публикации в СМИ",
        ("публикац", "сми", "статья", "статьи", "пост", "репортаж", "publication", "media"),
    ),
    Term("other", "Другое", "другие мероприятия", ("друг", "проч", "other", "иное")),
)

FORMATS: tuple[Term, ...] = (
    Term("offline", "Очно", "очно", ("очн", "offline", "живую")),
    Term("online", "Онлайн", "онлайн", ("онлайн", "online", "дистанц", "заочн", "вебинар")),
)

AUDIENCE_BY_CODE = {t.code: t for t in AUDIENCES}
KIND_BY_CODE = {t.code: t for t in KINDS}
FORMAT_BY_CODE = {t.code: t for t in FORMATS}

_CLEAN = re.compile(r"[\s\-–—.,_/«»\"'()]+")


def _key(text: str) -> str:
    return _CLEAN.sub("", text.strip().lower().replace("ё", "е"))


def _parse(text: str, terms: tuple[Term, ...]) -> Term | None:
    key = _key(text)
    if not key:
        return None
    for term in terms:
        if key in (term.code, _key(term.label)):
            return term
    matches = {term.code: term for term in terms for stem in term.stems if key.startswith(stem)}
    return next(iter(matches.values())) if len(matches) == 1 else None


def parse_audience(text: str) -> Term | None:
    """«родители», «Родителей», «parents», «учащиеся», «педагоги», «прочие» ..."""
    return _parse(text, AUDIENCES)


def parse_kind(text: str) -> Term | None:
    """«собрание», «день открытых дверей», «мастер-класс», «seminar» ..."""
    # "открытые уроки" and "открытые двери" both start with "открыт": ask for more.
    return _parse(text, KINDS)


def parse_format(text: str) -> Term | None:
    key = _key(text)
    if key.startswith("заочн"):
        return FORMAT_BY_CODE["online"]
    return _parse(text, FORMATS)


def guess_kind(title: str) -> Term:
    """The kind a free-text title most likely names; «Другое» when nothing fits.

    Used by the one-line /log form, where experienced staff type only a title:
    «Родительское собрание: соцсертификаты» → meeting.
    """
    key = _key(title)
    for term in KINDS:
        if term.code == "other":
            continue
        if any(stem in key for stem in term.stems if len(stem) >= 5 and not stem.isascii()):
            return term
    return KIND_BY_CODE["other"]


def parse_directions(text: str) -> tuple[list[Direction], list[str]]:
    """Directions from «техническая, художественная» (comma or semicolon separated).

    Returns (directions in order without repeats, the parts that matched nothing).
    """
    found: list[Direction] = []
    unknown: list[str] = []
    for part in re.split(r"[,;\n]+", text):
        part = part.strip()
        if not part:
            continue
        direction = Direction.from_code(part.lower()) or parse_direction(part)
        if direction is None:
            unknown.append(part)
        elif direction not in found:
            found.append(direction)
    return found, unknown
