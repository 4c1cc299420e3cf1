"""Unit and property tests: ages, validation, targets, the rate limiter."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.announcements.broadcasts import check_photo, check_time, parse_local_time
from bot.services.announcements.delivery import RateLimiter
from bot.services.announcements.subscriptions import MAX_AGE, MIN_AGE, Target, parse_ages
from bot.views.announcements import check_text, describe_target


@given(
    st.lists(st.integers(MIN_AGE, MAX_AGE), min_size=1, max_size=8), st.sampled_from([", ", " ", "; ", " и "])
)
def test_ages_round_trip(ages: list[int], sep: str) -> None:
    assert parse_ages(sep.join(str(a) for a in ages)) == sorted(ages)


@given(st.text(max_size=60))
def test_ages_never_crash_and_stay_in_range(text: str) -> None:
    try:
        ages = parse_ages(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert ages and all(MIN_AGE <= a <= MAX_AGE for a in ages)


def test_text_checks() -> None:
    assert check_text("<b>ok</b> &amp; fine", with_photo=False) == []
    assert check_text("  ", with_photo=False)[0].en == "the text is empty"
    assert "HTML" in check_text("<b>open", with_photo=False)[0].en
    assert "<script>" not in check_text("<script>", with_photo=False)[0].key  # escaped for Telegram
    assert check_text("x" * 4096, with_photo=False) == []
    assert "4096" in check_text("x" * 4097, with_photo=False)[0].en
    assert "1024" in check_text("x" * 1025, with_photo=True)[0].en
    # tags do not count against the limit, as in Telegram
    assert check_text("<b>" + "x" * 4090 + "</b>", with_photo=False) == []


def test_photo_and_time_checks() -> None:
    assert check_photo(b"GIF89a not really") != []
    assert check_photo(b"\x89PNG\r\n\x1a\n broken") != []
    now = datetime(2026, 8, 1, tzinfo=UTC)
    assert check_time(now - timedelta(minutes=1), now) != []
    assert check_time(now + timedelta(minutes=1), now) == []
    assert check_time(now + timedelta(days=400), now) != []


def test_local_time_is_stored_as_utc() -> None:
    when = parse_local_time("25.08.2026 18:30", ZoneInfo("Asia/Irkutsk"))
    assert when == datetime(2026, 8, 25, 10, 30, tzinfo=ZoneInfo("UTC"))
    assert parse_local_time("2026-08-25 18:30", ZoneInfo("Asia/Irkutsk")) == when
    with pytest.raises(ValueError):
        parse_local_time("завтра в шесть", ZoneInfo("Asia/Irkutsk"))


def test_target_json_round_trip_and_description() -> None:
    target = Target(directions=("tech",), ages=(7, 9), municipality="zima")
    assert Target.from_json(target.to_json()) == target
    assert describe_target(target, {"zima": "Зима"}) == (
        "все подписчики (направленность: техническая; возраст детей: 7, 9; муниципалитет: Зима)"
    )
    assert describe_target(Target(event_id=3)) == "записавшиеся на мероприятие №3"


async def test_rate_limiter_keeps_the_rate() -> None:
    limiter = RateLimiter(200, burst=1)
    start = time.monotonic()
    for _ in range(41):
        await limiter.acquire()
    elapsed = time.monotonic() - start
    assert elapsed >= 40 / 200 * 0.95  # never faster than the rate
    await asyncio.sleep(0)
