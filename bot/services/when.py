"""Dates and times as staff type them: one reader for /event_new, /broadcast, /log and the CLI.

«5 декабря в 15:00», «10.12 18:00», «завтра в 10», «послезавтра в 9:30», «в субботу в 11»,
«15.01.2027 10:00», «вчера», «12 марта», «2026-12-05 15:00». The forms people use most
(numbers with dots, today / tomorrow / yesterday, weekdays, a time after «в») are read
here; the rest of a date in words («5 декабря», «12 мар 2027») goes to `dateparser`,
which reads Russian month names but on its own misreads «10.12 18:00» (nothing),
«завтра в 10» (noon) and «в субботу в 11» (the 11th): the time is taken off first.

A time without a year is the next one for a moment that is planned (an event, a scheduled
broadcast) and the last one for a day that has passed (the outreach log).

Refusals are `WhenError`s naming a text of content/texts/staff.yaml (`when.*`); times are
shown to people with `moment_text` («5 декабря (сб) в 15:00 по иркутскому времени»),
never as `Asia/Irkutsk` or UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.services.refusal import Refusal

__all__ = [
    "EARLIEST_YEAR",
    "MONTH_WORD",
    "Reading",
    "WhenError",
    "day_text",
    "moment_text",
    "parse_day",
    "parse_moment",
    "read",
    "time_text",
    "zone_phrase",
]

Prefer = Literal["future", "past"]

EARLIEST_YEAR = 2000  # the outreach log starts no earlier
FURTHEST_AHEAD = timedelta(days=366)  # a broadcast or an event is planned at most a year ahead

# «по иркутскому времени»: the zones of Russia by the adjective people use for their time.
_ZONE_ADJECTIVES = {
    "Europe/Kaliningrad": "калининградскому",
    "Europe/Moscow": "московскому",
    "Europe/Simferopol": "московскому",
    "Europe/Kirov": "московскому",
    "Europe/Volgograd": "московскому",
    "Europe/Astrakhan": "астраханскому",
    "Europe/Saratov": "саратовскому",
    "Europe/Ulyanovsk": "ульяновскому",
    "Europe/Samara": "самарскому",
    "Asia/Yekaterinburg": "екатеринбургскому",
    "Asia/Omsk": "омскому",
    "Asia/Novosibirsk": "новосибирскому",
    "Asia/Barnaul": "барнаульскому",
    "Asia/Tomsk": "томскому",
    "Asia/Novokuznetsk": "кемеровскому",
    "Asia/Krasnoyarsk": "красноярскому",
    "Asia/Irkutsk": "иркутскому",
    "Asia/Chita": "читинскому",
    "Asia/Yakutsk": "якутскому",
    "Asia/Khandyga": "якутскому",
    "Asia/Vladivostok": "владивостокскому",
    "Asia/Ust-Nera": "владивостокскому",
    "Asia/Magadan": "магаданскому",
    "Asia/Sakhalin": "сахалинскому",
    "Asia/Srednekolymsk": "среднеколымскому",
    "Asia/Kamchatka": "камчатскому",
    "Asia/Anadyr": "анадырскому",
}

_MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)  # fmt: skip
_WEEKDAYS_SHORT = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")
# A month in words, as the second word of a date: «12 марта», «5 дек.»
MONTH_WORD = re.compile(
    r"^(январ[ья]|янв|феврал[ья]|фев|марта?|мар|апрел[ья]|апр|ма[йя]|июн[ья]?|июл[ья]?|августа?|авг"
    r"|сентябр[ья]|сент?|октябр[ья]|окт|ноябр[ья]|нояб?|декабр[ья]|дек)\.?$",
    re.IGNORECASE,
)

_WEEKDAY_STEMS = (
    ("понедельник", "пн"), ("вторник", "вт"), ("сред", "ср"), ("четверг", "чт"),
    ("пятниц", "пт"), ("суббот", "сб"), ("воскресень", "вс"),
)  # fmt: skip
_RELATIVE_DAYS = {"сегодня": 0, "завтра": 1, "послезавтра": 2, "вчера": -1, "позавчера": -2,
                  "today": 0, "tomorrow": 1, "yesterday": -1}  # fmt: skip


class WhenError(Refusal):
    """A date or time that cannot be read or used (texts `when.*` in content/texts/staff.yaml)."""


@dataclass(frozen=True)
class Reading:
    """What was typed: a calendar day and, if one was given, a time of day (local)."""

    day: date
    time: time | None


def zone_phrase(tz_name: str) -> str:
    """«по иркутскому времени» for Asia/Irkutsk; «по местному времени» for a zone without a name here."""
    adjective = _ZONE_ADJECTIVES.get(tz_name)
    return f"по {adjective} времени" if adjective else "по местному времени"


def day_text(day: date, today: date | None = None) -> str:
    """«5 декабря», with the year when it is not this one: «15 января 2027 г.»."""
    text = f"{day.day} {_MONTHS_GENITIVE[day.month - 1]}"
    if today is None or day.year != today.year:
        text += f" {day.year} г."
    return text


def time_text(moment: datetime, tz_name: str, *, now: datetime | None = None) -> str:
    """«5 декабря (сб) в 15:00» in the zone, without the zone's name."""
    local = moment.astimezone(ZoneInfo(tz_name))
    today = (now or datetime.now(UTC)).astimezone(ZoneInfo(tz_name)).date()
    return f"{day_text(local.date(), today)} ({_WEEKDAYS_SHORT[local.weekday()]}) в {local:%H:%M}"


def moment_text(moment: datetime, tz_name: str, *, now: datetime | None = None) -> str:
    """«5 декабря (сб) в 15:00 по иркутскому времени»: how a time is shown to people."""
    return f"{time_text(moment, tz_name, now=now)} {zone_phrase(tz_name)}"


# --- reading ------------------------------------------------------------------------------

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ t]+(\d{1,2})[:.](\d{2})(?::\d{2})?)?$")
_NUMERIC = re.compile(
    r"^(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?\.?"
    r"(?:\s+(?:в\s+)?(\d{1,2})(?:[:.](\d{2}))?(?:\s*(ч|час|часа|часов|утра|дня|вечера|ночи))?)?$"
)
_PERIODS = r"утра|дня|вечера|ночи"
# A time anywhere: with a colon («15:00», «в 9:30»), after «в» («в 10», «в 9.30 утра»), or with
# a word after it («10 утра», «18 ч»); not «через 2 дня», which is a day.
_TIME_PATTERNS = (
    re.compile(rf"(?:^|\s)(?:в\s+)?(\d{{1,2}}):(\d{{2}})(?:\s*({_PERIODS}))?(?=\s|$)"),
    re.compile(
        rf"(?:^|\s)(?:в|к)\s+(\d{{1,2}})(?:\.(\d{{2}}))?(?:\s*(?:ч|час|часа|часов))?"
        rf"(?:\s*({_PERIODS}))?(?=\s|$)"
    ),
    re.compile(rf"(?:^|\s)(?<!через\s)(\d{{1,2}})(?:\.(\d{{2}}))?\s*(ч|час|часа|часов|{_PERIODS})(?=\s|$)"),
    # «завтра 10.00», «12 марта 18.30»: hours.minutes at the end, after a day in words
    re.compile(r"(?<=[а-я])\s+(\d{1,2})\.(\d{2})()$"),
)
_WEEKDAY = re.compile(r"^(?:во?\s+)?(?:(эт[оуиа]\w*|следующ\w*|прошл\w*|ближайш\w*)\s+)?([а-я]+)$")
_FILLER = re.compile(r"^(?:на|к|в|во)\s+")
_YEAR_WORD = re.compile(r"(\d{4})\s*(?:г\.?|года|год)(?=\s|$)")


def _normalise(text: str) -> str:
    value = text.strip().lower().replace("ё", "е")
    value = value.replace(",", " ").replace("—", " ").replace("–", " ")
    value = _YEAR_WORD.sub(r"\1", value)
    value = " ".join(value.split())
    return value.rstrip(".!;").strip()


def _clock(hour: int, minute: int, period: str | None) -> time | None:
    if period in {"дня", "вечера"} and 1 <= hour < 12:
        hour += 12
    elif period == "ночи" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def _year(day: int, month: int, year: int | None, today: date, prefer: Prefer) -> int:
    """The year of a day typed without one: the next such day or the last one."""
    if year is not None:
        return year + 2000 if year < 100 else year
    try:
        candidate = date(today.year, month, day)
    except ValueError:
        return today.year  # 29.02 of a common year: reported as a day that does not exist
    if prefer == "future" and candidate < today:
        return today.year + 1
    if prefer == "past" and candidate > today:
        return today.year - 1
    return today.year


def _make_day(raw: str, day: int, month: int, year: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise WhenError(
            "when.no_such_date", f"the date {raw!r} does not exist in the calendar", text=raw
        ) from None


def _weekday(word: str) -> int | None:
    for index, (stem, short) in enumerate(_WEEKDAY_STEMS):
        if word == short or word.startswith(stem):
            return index
    return None


def _weekday_day(match: re.Match[str], today: date, prefer: Prefer) -> date | None:
    qualifier, word = match.group(1) or "", match.group(2)
    index = _weekday(word)
    if index is None:
        return None
    week_start = today - timedelta(days=today.weekday())
    if qualifier.startswith("следующ"):
        return week_start + timedelta(days=7 + index)
    if qualifier.startswith("прошл"):
        return week_start - timedelta(days=7 - index)
    if qualifier.startswith("эт"):
        return week_start + timedelta(days=index)
    if prefer == "future":
        return today + timedelta(days=(index - today.weekday()) % 7)
    return today - timedelta(days=(today.weekday() - index) % 7)


def _words_day(part: str, raw: str, today: date, now: datetime, prefer: Prefer) -> date:
    stripped = _FILLER.sub("", part)
    if stripped in _RELATIVE_DAYS:
        return today + timedelta(days=_RELATIVE_DAYS[stripped])
    if match := _WEEKDAY.match(part):
        found = _weekday_day(match, today, prefer)
        if found is not None:
            return found
    if match := re.fullmatch(r"(\d{1,2})[./](\d{1,2})(?:[./](\d{4}|\d{2}))?\.?", stripped):
        d, m = int(match[1]), int(match[2])
        y = _year(d, m, int(match[3]) if match[3] else None, today, prefer)
        return _make_day(raw, d, m, y)
    import dateparser  # a second to import its language data: only when it is needed

    parsed = dateparser.parse(
        stripped,
        languages=["ru", "en"],
        settings={
            "PREFER_DATES_FROM": prefer,
            "RELATIVE_BASE": now.replace(tzinfo=None),
            "DATE_ORDER": "DMY",
            "PREFER_DAY_OF_MONTH": "first",
            "REQUIRE_PARTS": ["day"] if not stripped.startswith("через") else [],
        },
    )
    if not isinstance(parsed, datetime):
        raise _unreadable(raw, prefer)
    return parsed.date()


def _unreadable(raw: str, prefer: Prefer) -> WhenError:
    if prefer == "future":
        return WhenError("when.moment_unreadable", f"cannot read the date and time {raw!r}", text=raw)
    return WhenError("when.day_unreadable", f"cannot read the date {raw!r}", text=raw)


def read(text: str, tz: ZoneInfo, *, prefer: Prefer, now: datetime | None = None) -> Reading:
    """The day and the time (if any) in `text`, in the zone `tz`; WhenError when unreadable."""
    raw = " ".join(text.split())[:60]
    value = _normalise(text)
    local_now = (now or datetime.now(UTC)).astimezone(tz)
    today = local_now.date()
    if not value:
        raise _unreadable(raw, prefer)
    if m := _ISO.match(value):
        day = _make_day(raw, int(m[3]), int(m[2]), int(m[1]))
        clock = _clock(int(m[4]), int(m[5]), None) if m[4] else None
        if m[4] and clock is None:
            raise _unreadable(raw, prefer)
        return Reading(day, clock)
    if m := _NUMERIC.match(value):
        d, mo = int(m[1]), int(m[2])
        day = _make_day(raw, d, mo, _year(d, mo, int(m[3]) if m[3] else None, today, prefer))
        clock = None
        if m[4]:
            clock = _clock(int(m[4]), int(m[5] or 0), m[6])
            if clock is None:
                raise _unreadable(raw, prefer)
        return Reading(day, clock)
    clock = None
    for pattern in _TIME_PATTERNS:
        found = pattern.search(value)
        if found is None:
            continue
        clock = _clock(int(found[1]), int(found[2] or 0), found[3] or None)
        if clock is None:
            raise _unreadable(raw, prefer)
        value = (value[: found.start()] + " " + value[found.end() :]).strip()
        break
    value = " ".join(value.split())
    if not value:
        if clock is None:
            raise _unreadable(raw, prefer)
        # «в 10» alone: today, or tomorrow when that time has passed and a future one is meant
        day = today
        if prefer == "future" and datetime.combine(today, clock, tzinfo=tz) <= local_now:
            day = today + timedelta(days=1)
        return Reading(day, clock)
    day = _words_day(value, raw, today, local_now, prefer)
    if (
        prefer == "future"
        and clock is not None
        and day == today
        and _WEEKDAY.match(value)
        and datetime.combine(day, clock, tzinfo=tz) <= local_now
    ):
        day += timedelta(days=7)  # «в субботу в 11» on a Saturday afternoon: the next Saturday
    return Reading(day, clock)


def parse_moment(text: str, tz: ZoneInfo, *, now: datetime | None = None) -> datetime:
    """A planned moment (an event's start, a broadcast's time): a day and a time, in the future
    and at most a year ahead. Returns an aware UTC datetime; WhenError otherwise."""
    now = now or datetime.now(UTC)
    reading = read(text, tz, prefer="future", now=now)
    local_today = now.astimezone(tz).date()
    if reading.time is None:
        shown = day_text(reading.day, local_today)
        raise WhenError("when.no_time", f"{text.strip()[:60]!r} has no time of day", day=shown)
    moment = datetime.combine(reading.day, reading.time, tzinfo=tz).astimezone(UTC)
    if moment <= now:
        raise WhenError(
            "when.moment_past",
            f"{moment.astimezone(tz):%Y-%m-%d %H:%M} has passed",
            moment=moment_text(moment, tz.key, now=now),
        )
    if moment > now + FURTHEST_AHEAD:
        raise WhenError(
            "when.moment_too_far",
            f"{moment.astimezone(tz):%Y-%m-%d %H:%M} is more than a year ahead",
            moment=moment_text(moment, tz.key, now=now),
        )
    return moment


def parse_day(text: str, tz: ZoneInfo, *, now: datetime | None = None, allow_future: bool = False) -> date:
    """A day that has passed (the outreach log): «вчера», «14.03.2025», «12 марта»; a time typed
    with it is ignored. WhenError when unreadable, before EARLIEST_YEAR or (unless
    `allow_future`) after today."""
    now = now or datetime.now(UTC)
    day = read(text, tz, prefer="past", now=now).day
    today = now.astimezone(tz).date()
    if day.year < EARLIEST_YEAR:
        raise WhenError(
            "when.day_too_early",
            f"the date {day.isoformat()} is before {EARLIEST_YEAR}",
            day=day.strftime("%d.%m.%Y"),
            year=EARLIEST_YEAR,
        )
    if not allow_future and day > today:
        raise WhenError(
            "when.day_in_future",
            f"the date {day.isoformat()} is in the future (today is {today.isoformat()})",
            day=day.strftime("%d.%m.%Y"),
        )
    return day
