"""Unit and property tests: ages, validation, targets, the rate limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.services.announcements.broadcasts import check_photo, check_time, parse_local_time
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


def test_worker_texts_for_staff() -> None:
    from zoneinfo import ZoneInfo

    from bot.services.announcements.delivery import StartNote
    from bot.views.announcements import duration_text, progress_body, start_note_text

    durations = [duration_text(s) for s in (-3, 42, 125, 3 * 3600 + 61)]
    assert durations == ["0 с", "42 с", "2 мин 5 с", "3 ч 1 мин"]
    when = datetime(2026, 8, 25, 10, 30, tzinfo=UTC)
    late = start_note_text(StartNote(7, "reminder", when, 3700), ZoneInfo("Asia/Irkutsk"))
    assert late == (
        "⚠️ Напоминание №7 было запланировано на 25.08.2026 18:30, но бот в это время не работал. "
        "Отправляю сейчас, с опозданием на 1 ч 1 мин."
    )
    skipped = start_note_text(StartNote(8, "reminder", when, 0, "мероприятие «A<B» уже началось"), UTC)
    assert skipped == "⚠️ Напоминание №8 не отправлено: мероприятие «A&lt;B» уже началось."
    body = progress_body({"sent": 5, "blocked": 1, "uncertain": 2, "pending": 3, "sending": 1}, 12)
    assert body.splitlines() == [
        "Доставлено: 5 из 12", "Заблокировали бота: 1", "Ошибки: 0",
        "Неизвестно (сбой во время отправки): 2", "Осталось: 4",
    ]  # fmt: skip
