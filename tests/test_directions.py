from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.directions import Direction, parse_direction


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Техническая", Direction.TECH),
        ("техн.", Direction.TECH),
        ("ТЕХНИЧЕСКОЙ НАПРАВЛЕННОСТИ", Direction.TECH),
        ("естественно-научная", Direction.SCIENCE),
        ("Естественнонаучная", Direction.SCIENCE),
        ("физкультурно - спортивная", Direction.SPORT),
        ("ФСП", Direction.SPORT),
        ("худож.", Direction.ART),
        ("Туристско-краеведческая", Direction.TOURISM),
        ("туристско краеведческой направленности", Direction.TOURISM),
        ("социально-гуманитарная", Direction.SOCIAL),
        ("социально-педагогическая", Direction.SOCIAL),
    ],
)
def test_forgiving_direction_names(text: str, expected: Direction) -> None:
    assert parse_direction(text) is expected


@pytest.mark.parametrize("text", ["", "   ", "музыкальная", "английский язык", "а", "направленность"])
def test_unknown_directions(text: str) -> None:
    assert parse_direction(text) is None


def test_codes_are_unique_and_short() -> None:
    codes = [d.code for d in Direction]
    assert len(set(codes)) == 6 and all(len(c) <= 5 and c.isascii() for c in codes)
    assert all(Direction.from_code(d.code) is d for d in Direction)


@given(st.text(max_size=60))
def test_never_raises(text: str) -> None:
    result = parse_direction(text)
    assert result is None or isinstance(result, Direction)
