"""Pure logic of the outreach log: number agreement, words, dates and periods."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pymorphy3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.outreach import russian, vocab
from bot.services.outreach.errors import OutreachError
from bot.services.outreach.log import parse_one_line, parse_reached
from bot.services.outreach.periods import (
    academic_year,
    calendar_year,
    date_range,
    parse_date,
    parse_period_text,
    today,
)

TZ = ZoneInfo("Asia/Irkutsk")
_MORPH = pymorphy3.MorphAnalyzer()


@pytest.mark.parametrize(
    ("n", "events", "people"),
    [
        (0, "0 мероприятий", "0 человек"),
        (1, "1 мероприятие", "1 человек"),
        (2, "2 мероприятия", "2 человека"),
        (3, "3 мероприятия", "3 человека"),
        (4, "4 мероприятия", "4 человека"),
        (5, "5 мероприятий", "5 человек"),
        (11, "11 мероприятий", "11 человек"),
        (12, "12 мероприятий", "12 человек"),
        (13, "13 мероприятий", "13 человек"),
        (14, "14 мероприятий", "14 человек"),
        (21, "21 мероприятие", "21 человек"),
        (22, "22 мероприятия", "22 человека"),
        (25, "25 мероприятий", "25 человек"),
        (33, "33 мероприятия", "33 человека"),
        (45, "45 мероприятий", "45 человек"),
        (111, "111 мероприятий", "111 человек"),
        (112, "112 мероприятий", "112 человек"),
        (140, "140 мероприятий", "140 человек"),
        (1734, "1734 мероприятия", "1734 человека"),
        (3102, "3102 мероприятия", "3102 человека"),
    ],
)
def test_agreement_table(n: int, events: str, people: str) -> None:
    assert russian.EVENT.count(n) == events
    assert russian.PERSON.count(n) == people


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10_000_000))
def test_rule_agrees_with_pymorphy_for_regular_nouns(n: int) -> None:
    """The small rule gives the same forms pymorphy3 does (where pymorphy3 is right)."""
    for noun, lemma in ((russian.EVENT, "мероприятие"), (russian.PROGRAM, "программа"),
                        (russian.QUESTION, "вопрос"), (russian.SIGNUP, "запись")):  # fmt: skip
        expected = _MORPH.parse(lemma)[0].make_agree_with_number(n).word
        assert noun.form(n) == expected, (n, lemma)


@given(st.integers(min_value=0, max_value=10**9))
def test_categories_follow_the_last_two_digits(n: int) -> None:
    assert russian.plural_category(n) == russian.plural_category(n % 100 + 100)
    assert russian.held(n) in {"проведено", "проведены"}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "30 с"),
        (600, "10 мин"),
        (3600, "1 ч"),
        (8100, "2 ч 15 мин"),
        (90000, "1 дн. 1 ч"),
        (172800, "2 дн."),
    ],
)
def test_duration(seconds: float, text: str) -> None:
    assert russian.duration(seconds) == text


@pytest.mark.parametrize(
    ("text", "code"),
    [("родители", "parents"), ("Родителей", "parents"), ("parents", "parents"), ("обучающиеся", "students"),
     ("учащиеся", "students"), ("педагоги", "educators"), ("Педагогов", "educators"), ("прочие", "other")],
)  # fmt: skip
def test_audiences(text: str, code: str) -> None:
    term = vocab.parse_audience(text)
    assert term is not None and term.code == code


@pytest.mark.parametrize("text", ["", "   ", "марсиане", "123", "р"])
def test_unknown_audiences(text: str) -> None:
    assert vocab.parse_audience(text) is None


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Родительское собрание: соцсертификаты", "meeting"),
        ("День открытых дверей в ДДТ", "open_day"),
        ("Консультации по Навигатору", "consultation"),
        ("Мастер-класс по робототехнике", "master_class"),
        ("Семинар-практикум «Порядок работы с заявлениями»", "seminar"),
        ("Рабочее совещание по социальному заказу", "seminar"),
        ("Круглый стол «Успехи и сложности»", "round_table"),
        ("Городской конкурс юных техников", "competition"),
        ("Публикация о сертификатах в газете", "publication"),
        ("Беседа о космических технологиях", "other"),
    ],
)
def test_kind_is_guessed_from_the_title(title: str, kind: str) -> None:
    assert vocab.guess_kind(title).code == kind


def test_kinds_parse_by_code_and_label() -> None:
    for term in vocab.KINDS:
        assert vocab.parse_kind(term.code) == term
        assert vocab.parse_kind(term.label) == term
    assert vocab.parse_kind("вечеринка") is None


def test_directions_list() -> None:
    found, unknown = vocab.parse_directions("техническая; Художественной направленности, техн.")
    assert [d.code for d in found] == ["tech", "art"] and unknown == []
    _, unknown = vocab.parse_directions("техническая, кулинарная")
    assert unknown == ["кулинарная"]


def test_dates() -> None:
    assert parse_date("2025-03-14", TZ) == date(2025, 3, 14)
    assert parse_date("14.03.2025", TZ) == date(2025, 3, 14)
    assert parse_date("14.03.25", TZ) == date(2025, 3, 14)
    assert parse_date("вчера", TZ) == today(TZ) - timedelta(days=1)
    for bad in ("2025-02-30", "31.04.2025", "2025-13-01", "завтра-ish", "", "1999-12-31"):
        with pytest.raises(OutreachError):
            parse_date(bad, TZ)
    future = today(TZ) + timedelta(days=1)
    with pytest.raises(OutreachError, match="future"):
        parse_date(future.isoformat(), TZ)


def test_periods_are_local_days_in_utc() -> None:
    period = calendar_year(2025, TZ)
    scope = period.scope(TZ, None)
    # Irkutsk is UTC+8: local midnight of 1 January is 16:00 UTC on 31 December.
    assert scope.start.isoformat() == "2024-12-31T16:00:00+00:00"
    assert scope.end.isoformat() == "2025-12-31T16:00:00+00:00"
    academic = academic_year(2020, TZ)
    assert (academic.start, academic.end) == (date(2020, 9, 1), date(2021, 8, 31))
    assert academic.label == "2020/2021 учебный год"
    assert len(academic.months()) == 12 and len(period.months()) == 12
    assert parse_period_text("2020/2021", TZ) == academic
    assert parse_period_text("2020-21", TZ) == academic
    assert parse_period_text("01.01.2025 31.03.2025", TZ).months()[-1] == date(2025, 3, 1)


def test_future_and_impossible_periods_are_refused() -> None:
    next_year = today(TZ).year + 1
    with pytest.raises(OutreachError, match="future"):
        calendar_year(next_year, TZ)
    with pytest.raises(OutreachError, match="future"):
        academic_year(next_year, TZ)
    with pytest.raises(OutreachError, match="before"):
        date_range(date(2025, 3, 1), date(2025, 2, 1), TZ)
    for bad in ("2024/2026", "когда-нибудь", "1812", "01.01.2025 30.02.2025"):
        with pytest.raises(OutreachError):
            parse_period_text(bad, TZ)


def test_one_line_form() -> None:
    data = parse_one_line("2025-03-14 родители 70 Родительское собрание: соцсертификаты", TZ, "sayansk")
    assert (data.held_on, data.audience, data.reached, data.kind) == (
        date(2025, 3, 14),
        "parents",
        70,
        "meeting",
    )
    assert data.title == "Родительское собрание: соцсертификаты"
    bad_lines = (
        "2025-03-14 родители 70",
        "2025-03-14 марсиане 70 Собрание",
        "2025-03-14 родители -5 Собрание",
        "2025-03-14 родители много Собрание",
        "2025-02-29 родители 5 Собрание",
    )
    for bad in bad_lines:
        with pytest.raises(OutreachError):
            parse_one_line(bad, TZ, "sayansk")


def test_headcounts() -> None:
    assert parse_reached("3 102") == 3102
    assert parse_reached("150000") == 150000
    for bad in ("-3", "0", "2.5", "abc", "99999999999"):
        with pytest.raises(OutreachError):
            parse_reached(bad)
