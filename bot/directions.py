"""The six направленности of additional education (order 629, 27.07.2022).

Shared by the catalogue, subscriptions, events and the report. `code` is short
and ASCII so it fits callback data; `title` is the exact UI word.
"""

from __future__ import annotations

import re
from enum import Enum


class Direction(Enum):
    TECH = ("tech", "техническая", "технической")
    SCIENCE = ("sci", "естественнонаучная", "естественнонаучной")
    SPORT = ("sport", "физкультурно-спортивная", "физкультурно-спортивной")
    ART = ("art", "художественная", "художественной")
    TOURISM = ("tour", "туристско-краеведческая", "туристско-краеведческой")
    SOCIAL = ("soc", "социально-гуманитарная", "социально-гуманитарной")

    def __init__(self, code: str, title: str, genitive: str) -> None:
        self.code = code
        self.title = title
        # «программы технической направленности»
        self.genitive = genitive

    @classmethod
    def from_code(cls, code: str) -> Direction | None:
        for direction in cls:
            if direction.code == code:
                return direction
        return None


# Stems and abbreviations people and spreadsheets use, matched against a
# normalised string (lowercase, ё→е, no spaces, hyphens or dots).
_ALIASES: dict[Direction, tuple[str, ...]] = {
    Direction.TECH: ("техн", "тех"),
    Direction.SCIENCE: ("естественнонауч", "естнауч", "естеств", "ен"),
    Direction.SPORT: ("физкультурноспорт", "физкультур", "физспорт", "спорт", "фс", "фсп", "физк"),
    Direction.ART: ("художеств", "худож", "худ"),
    Direction.TOURISM: ("туристскокраевед", "туристкокраевед", "туристск", "турист", "краевед", "тк", "тур"),
    Direction.SOCIAL: ("социальногуманит", "социальнопедагог", "социальн", "соцгум", "гуманит", "соц", "сг"),
}
_CLEAN = re.compile(r"[\s\-–—.,_/«»\"']+")


def _normalise(text: str) -> str:
    text = text.strip().lower().replace("ё", "е")
    text = re.sub(r"\bнаправленност\w*\b", "", text)
    return _CLEAN.sub("", text)


def parse_direction(text: str) -> Direction | None:
    """Match a direction name forgivingly: case, hyphens, endings, abbreviations.

    «Техническая», «техн.», «естественно-научная», «Физкультурно-спортивной
    направленности», «ФСП» all match; anything ambiguous or unknown gives None.
    """
    key = _normalise(text)
    if not key:
        return None
    for direction in Direction:
        if key == _normalise(direction.title) or key == _normalise(direction.genitive):
            return direction
    matches: set[Direction] = set()
    for direction, aliases in _ALIASES.items():
        for alias in aliases:
            # short abbreviations must match exactly; stems may prefix a longer word
            if key == alias or (len(alias) >= 4 and key.startswith(alias)):
                matches.add(direction)
    return matches.pop() if len(matches) == 1 else None
