"""bot/services/when.py: dates and times as staff type them, read against a fixed «now»."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.services.when import (
    MONTH_WORD,
    WhenError,
    moment_text,
    parse_day,
    parse_moment,
    read,
    zone_phrase,
)

IRKUTSK = ZoneInfo("Asia/Irkutsk")
# Tuesday 1 December 2026, 12:00 in Irkutsk (UTC+8)
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)

# text -> (day, time) as a planned moment (the next such day) and as a day that has passed
TABLE: list[tuple[str, tuple[date, time | None], tuple[date, time | None]]] = [
    ("5 декабря в 15:00", (date(2026, 12, 5), time(15)), (date(2025, 12, 5), time(15))),
    ("10.12 18:00", (date(2026, 12, 10), time(18)), (date(2025, 12, 10), time(18))),
    ("завтра в 10", (date(2026, 12, 2), time(10)), (date(2026, 12, 2), time(10))),
    ("послезавтра в 9:30", (date(2026, 12, 3), time(9, 30)), (date(2026, 12, 3), time(9, 30))),
    ("в субботу в 11", (date(2026, 12, 5), time(11)), (date(2026, 11, 28), time(11))),
    ("15.01.2027 10:00", (date(2027, 1, 15), time(10)), (date(2027, 1, 15), time(10))),
    ("вчера", (date(2026, 11, 30), None), (date(2026, 11, 30), None)),
    ("сегодня", (date(2026, 12, 1), None), (date(2026, 12, 1), None)),
    ("12 марта", (date(2027, 3, 12), None), (date(2026, 3, 12), None)),
    # more of what people type
    ("2026-12-05 15:00", (date(2026, 12, 5), time(15)), (date(2026, 12, 5), time(15))),
    ("5 дек 2026 г. в 15.30", (date(2026, 12, 5), time(15, 30)), (date(2026, 12, 5), time(15, 30))),
    ("Завтра, 10:00", (date(2026, 12, 2), time(10)), (date(2026, 12, 2), time(10))),
    ("в 7 вечера в пятницу", (date(2026, 12, 4), time(19)), (date(2026, 11, 27), time(19))),
    ("в следующую субботу в 12", (date(2026, 12, 12), time(12)), (date(2026, 12, 12), time(12))),
    ("14.03", (date(2027, 3, 14), None), (date(2026, 3, 14), None)),
    ("14.03.25", (date(2025, 3, 14), None), (date(2025, 3, 14), None)),
    ("сб 11:00", (date(2026, 12, 5), time(11)), (date(2026, 11, 28), time(11))),
    ("завтра 10.00", (date(2026, 12, 2), time(10)), (date(2026, 12, 2), time(10))),
    ("12 марта 18.30", (date(2027, 3, 12), time(18, 30)), (date(2026, 3, 12), time(18, 30))),
    ("в 3 дня послезавтра", (date(2026, 12, 3), time(15)), (date(2026, 12, 3), time(15))),
]


@pytest.mark.parametrize(("text", "future", "past"), TABLE, ids=[t for t, _, _ in TABLE])
def test_reads_what_people_type(
    text: str, future: tuple[date, time | None], past: tuple[date, time | None]
) -> None:
    got_future = read(text, IRKUTSK, prefer="future", now=NOW)
    assert (got_future.day, got_future.time) == future
    got_past = read(text, IRKUTSK, prefer="past", now=NOW)
    assert (got_past.day, got_past.time) == past


def test_a_time_alone_is_today_or_tomorrow() -> None:
    # 12:00 now: «в 10» planned is tomorrow, «в 15» still today
    assert parse_moment("в 10", IRKUTSK, now=NOW) == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert parse_moment("в 15:00", IRKUTSK, now=NOW) == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_the_weekday_of_today_after_its_time_is_next_week() -> None:
    assert read("во вторник в 10", IRKUTSK, prefer="future", now=NOW).day == date(2026, 12, 8)
    assert read("во вторник в 18", IRKUTSK, prefer="future", now=NOW).day == date(2026, 12, 1)


def test_moment_is_stored_in_utc() -> None:
    moment = parse_moment("5 декабря в 15:00", IRKUTSK, now=NOW)
    assert moment == datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    moscow = parse_moment("5 декабря в 15:00", ZoneInfo("Europe/Moscow"), now=NOW)
    assert moscow == datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "key", "params"),
    [
        ("абракадабра", "when.moment_unreadable", {"text": "абракадабра"}),
        ("", "when.moment_unreadable", {"text": ""}),
        ("в 25:00", "when.moment_unreadable", {"text": "в 25:00"}),
        ("31.02 10:00", "when.no_such_date", {"text": "31.02 10:00"}),
        ("5 декабря", "when.no_time", {"day": "5 декабря"}),
        ("завтра", "when.no_time", {"day": "2 декабря"}),
        ("вчера в 10", "when.moment_past", {"moment": "30 ноября (пн) в 10:00 по иркутскому времени"}),
        (
            "15.01.2028 10:00",
            "when.moment_too_far",
            {"moment": "15 января 2028 г. (сб) в 10:00 по иркутскому времени"},
        ),
    ],
)
def test_moment_refusals_name_their_text(text: str, key: str, params: dict[str, str]) -> None:
    with pytest.raises(WhenError) as caught:
        parse_moment(text, IRKUTSK, now=NOW)
    assert caught.value.key == key
    assert caught.value.params == params
    assert caught.value.en  # the CLI says it in English


def test_days_for_the_log() -> None:
    assert parse_day("вчера в 15:00", IRKUTSK, now=NOW) == date(2026, 11, 30)  # the time is ignored
    assert parse_day("12 марта", IRKUTSK, now=NOW) == date(2026, 3, 12)
    with pytest.raises(WhenError) as future:
        parse_day("завтра", IRKUTSK, now=NOW)
    assert future.value.key == "when.day_in_future" and future.value.params == {"day": "02.12.2026"}
    assert parse_day("завтра", IRKUTSK, now=NOW, allow_future=True) == date(2026, 12, 2)
    with pytest.raises(WhenError) as early:
        parse_day("14.03.1999", IRKUTSK, now=NOW)
    assert early.value.key == "when.day_too_early"
    with pytest.raises(WhenError) as unreadable:
        parse_day("на днях", IRKUTSK, now=NOW)
    assert unreadable.value.key == "when.day_unreadable"


def test_times_are_shown_in_words_never_as_a_zone_name() -> None:
    moment = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
    assert moment_text(moment, "Asia/Irkutsk", now=NOW) == "5 декабря (сб) в 15:00 по иркутскому времени"
    assert moment_text(moment, "Europe/Moscow", now=NOW) == "5 декабря (сб) в 10:00 по московскому времени"
    next_year = datetime(2027, 1, 15, 2, 0, tzinfo=UTC)
    assert (
        moment_text(next_year, "Asia/Irkutsk", now=NOW)
        == "15 января 2027 г. (пт) в 10:00 по иркутскому времени"
    )
    assert zone_phrase("Asia/Irkutsk") == "по иркутскому времени"
    assert zone_phrase("Europe/Moscow") == "по московскому времени"
    assert zone_phrase("UTC") == "по местному времени"
    assert zone_phrase("America/New_York") == "по местному времени"


def test_month_words_are_months_only() -> None:
    for word in ("марта", "Мар.", "мая", "май", "сентября", "сент", "дек", "декабря", "июня", "июль"):
        assert MONTH_WORD.match(word), word
    for word in ("марсиане", "майские", "родители", "декада", "июнь-июль", "апрельский"):
        assert not MONTH_WORD.match(word), word
