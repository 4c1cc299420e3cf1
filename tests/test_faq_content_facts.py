"""Municipality settings that answers take their regional facts from, the `{choice:…|…}`
placeholders that pick a wording by them, and the checks every FAQ answer passes for
every municipality (issue 13)."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main as cli_main
from bot.content import CHOICES, Content, ContentError, Nominal, load_content, render, template_problems
from bot.html import html_errors, visible_length
from bot.services.faq.knowledge import (
    ANSWER_LIMIT,
    REQUIRED_IDS,
    KnowledgeBase,
    SourceLink,
    money_words,
    render_checks,
)
from bot.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _problems(directory: Path) -> str:
    with pytest.raises(ContentError) as info:
        load_content(directory)
    return "\n".join(str(p) for p in info.value.problems)


# --- municipality settings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "unit", "per", "text"),
    [
        (8000, "money", "в год", "8 000 руб. в год"),
        (Decimal("5350.5"), "money", "", "5 350,50 руб."),
        (72, "hours", "в год", "72 часа в год"),
        (1, "hours", "", "1 час"),
        (11, "hours", "в год", "11 часов в год"),
        (21, "hours", "", "21 час"),
        (144, "hours", "", "144 часа"),
        (115, "hours", "", "115 часов"),
    ],
)
def test_nominal_is_written_from_amount_and_unit(amount: Decimal, unit: str, per: str, text: str) -> None:
    assert Nominal.model_validate({"amount": amount, "unit": unit, "per": per}).text() == text


def test_shipped_municipalities_say_what_answers_need() -> None:
    content = load_content(CONTENT)
    sayansk, zima = content.municipality("sayansk"), content.municipality("zima")
    assert sayansk.placeholders()["certificate_nominal"] == "8 000 руб. в год"
    assert zima.placeholders()["certificate_nominal"] == "72 часа в год"
    assert (sayansk.placeholders()["unit"], zima.placeholders()["unit"]) == ("money", "hours")
    assert {m.certificate.issued for m in content.municipalities.values()} <= {"once", "per_period"}


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        ("unit: hours", "unit: euros", "zima: certificate.nominal.unit: Input should be 'money' or 'hours'"),
        (
            "amount: 72",
            "amount: 72.5",
            "zima: certificate.nominal: Value error, a номинал in hours must be a whole",
        ),
        ("amount: 72", "amount: -1", "zima: certificate.nominal.amount: Input should be greater than 0"),
        (
            "amount: 72",
            "amount: 72 часа",
            "zima: certificate.nominal.amount: Input should be a valid decimal",
        ),
        (
            "nominal:\n        amount: 72\n        unit: hours\n        per: в год",
            "nominal: 72 часа в год",
            "zima: certificate.nominal: Value error, write the номинал as an amount and a unit",
        ),
        (
            "issued: once",
            "issued: yearly",
            "sayansk: certificate.issued: Input should be 'once' or 'per_period'",
        ),
        ("activation_step: false", "activation_step: maybe", "sayansk: navigator.activation_step"),
        (
            "    education_department:",
            "    enrollment_periods: ''\n    education_department:",
            "enrollment_periods",
        ),
    ],
)
def test_bad_settings_are_refused_with_file_entry_and_reason(
    content_copy: Path, old: str, new: str, reason: str
) -> None:
    _edit(content_copy / "municipalities.yaml", old, new)
    problems = _problems(content_copy)
    assert "municipalities.yaml: " in problems and reason in problems


# --- choices -----------------------------------------------------------------------------

VALUES = {
    "unit": "hours",
    "issued": "once",
    "activation": "no",
    "enrollment": "set",
    "enrollment_periods": "с 20 августа",
    "moc_phone": "8 (39554) 0-00-01",
}


def test_a_choice_renders_the_variant_its_setting_picks() -> None:
    template = (
        "Номинал: {unit:сумма|часы}. {issued:Один раз.|Каждый период.}{activation: Нажмите «Активировать».|}"
    )
    assert render(template, VALUES) == "Номинал: часы. Один раз."
    money = {**VALUES, "unit": "money", "issued": "per_period", "activation": "yes"}
    assert render(template, money) == "Номинал: сумма. Каждый период. Нажмите «Активировать»."


def test_a_variant_may_hold_placeholders_colons_and_html() -> None:
    template = (
        "{enrollment:<b>Сроки:</b> {enrollment_periods}; звоните: {moc_phone}.|Сроки назначают организации.}"
    )
    assert render(template, VALUES) == "<b>Сроки:</b> с 20 августа; звоните: 8 (39554) 0-00-01."
    assert render(template, {**VALUES, "enrollment": "unset"}) == "Сроки назначают организации."


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{unit:сумма}", "{unit:…|…} needs exactly two variants separated by | (for money|hours)"),
        ("{unit:a|b|c}", "needs exactly two variants"),
        ("{unit}", "needs exactly two variants"),
        ("{issued:{unit:a|b}|c}", "{unit:…} cannot be inside the variants of {issued:…}"),
        ("{moc_phone:>20}", "{moc_phone} takes no format or variants"),
        ("Сроки: {enrollment_periods}", "{enrollment_periods} is optional: use it only in the first variant"),
        ("{enrollment:нет|{enrollment_periods}}", "use it only in the first variant of {enrollment:…|…}"),
        ("{unit:a|{no_such}}", "unknown placeholder(s): ['no_such']"),
        ("{unit:a|b", "bad placeholder braces"),
    ],
)
def test_bad_choices_are_explained(template: str, reason: str) -> None:
    assert any(reason in problem for problem in template_problems(template)), template_problems(template)


def test_good_templates_have_no_problems() -> None:
    assert template_problems("{unit:сумма|часы} {enrollment:{enrollment_periods}|—} {moc_phone}") == []


def test_ui_texts_may_use_choices(content_copy: Path) -> None:
    _edit(content_copy / "texts.yaml", "menu: |\n", "menu: |\n  Номинал у нас {unit:в рублях|в часах}.\n")
    content = load_content(content_copy)
    assert "в рублях" in content.text("menu", "sayansk") and "в часах" in content.text("menu", "zima")
    _edit(content_copy / "texts.yaml", "{unit:в рублях|в часах}", "{unit:в рублях}")
    assert "texts.yaml: menu: {unit:…|…} needs exactly two variants" in _problems(content_copy)


# --- every answer, rendered for every municipality ---------------------------------------


def _knowledge_base() -> tuple[Content, KnowledgeBase]:
    content = load_content(CONTENT)
    return content, content.section("faq")


def test_every_answer_renders_for_every_municipality_within_the_rules() -> None:
    content, kb = _knowledge_base()
    checks = render_checks(content)
    assert [c.label for c in checks[: len(content.municipalities)]] == [
        f"municipality {m}" for m in content.municipalities
    ]
    assert len(checks) == 2 ** len(CHOICES), "every combination of settings is rendered"
    assert any(c.hours for c in checks) and not all(c.hours for c in checks)
    for entry in kb:
        assert template_problems(entry.answer) == [], entry.id
        for check in checks:
            rendered = entry.render_answer(check.values)
            where = f"{entry.id} ({check.label})"
            assert "{" not in rendered and "}" not in rendered, where
            assert html_errors(rendered) == [], where
            assert visible_length(rendered) <= ANSWER_LIMIT, where
            if check.hours:
                assert money_words(rendered) == [], where
                assert money_words(entry.title) == [], where


def test_hours_and_money_municipalities_read_differently() -> None:
    content, kb = _knowledge_base()
    sayansk, zima = (
        content.municipality("sayansk").placeholders(),
        content.municipality("zima").placeholders(),
    )
    balance = kb.get("certificate-balance")
    assert balance is not None
    assert "72 часа в год" in balance.render_answer(zima) and "часы, закреплённые" in balance.render_answer(
        zima
    )
    assert "8 000 руб. в год" in balance.render_answer(sayansk)
    assert "сумма, закреплённая" in balance.render_answer(sayansk)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Номинал — 8 000 руб. в год, то есть 8000 рублей", ["руб.", "рублей"]),
        ("500 ₽ за занятие", ["₽"]),
        ("Деньги спишут, денег не вернут, денежный остаток", ["Деньги", "денег", "денежный"]),
        ("<b>Сумма</b> резерва", ["Сумма"]),
        ("средства сертификата", ["средства сертификата"]),
        ("Если программа дороже номинала или дешевле остатка", ["дороже номинала", "дешевле остатка"]),
        ("оплатить номиналом; номиналом оплачиваются", ["оплатить номиналом", "номиналом оплачиваются"]),
    ],
)
def test_money_words_are_found(text: str, words: list[str]) -> None:
    assert money_words(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "Отметка «Доступна оплата сертификатом»",
        "Сайты недоступны с зарубежных адресов",
        "СНИЛС проверяется по контрольному числу",
        "Платные программы оплачивают родители; 72 часа в год",
        "Часы номинала резервируются и списываются помесячно",
    ],
)
def test_words_that_are_not_about_money_pass(text: str) -> None:
    assert money_words(text) == []


def test_a_money_word_for_an_hours_nominal_is_refused(
    content_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _edit(
        content_copy / "faq" / "certificate.yaml",
        "Сколько осталось от номинала, видно",
        "Сколько осталось рублей, видно",
    )
    _edit(
        content_copy / "faq" / "certificate.yaml",
        "title: Сертификаты с номиналом закончились",
        "title: Деньги закончились",
    )
    problems = _problems(content_copy)
    expected = (
        "faq/certificate.yaml: certificate-balance: answer: money words ['рублей'] where the номинал is in"
    )
    assert expected in problems
    assert "(municipality zima)" in problems
    assert "certificate-funds-out: title: money words ['Деньги']" in problems
    # the words the bot asks back with («Вы спрашиваете, …?») are read in Зима too
    _edit(
        content_copy / "faq" / "certificate.yaml",
        "ask_as: сколько осталось на сертификате",
        "ask_as: сколько денег осталось на сертификате",
    )
    assert "certificate-balance: ask_as: money words ['денег']" in _problems(content_copy)
    assert cli_main(["content", "check", "--dir", str(content_copy)]) == 1
    assert "money words ['рублей']" in capsys.readouterr().err


def test_hours_variants_are_checked_even_where_no_municipality_counts_hours(content_copy: Path) -> None:
    path = content_copy / "municipalities.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: text.index("  - id: zima")], encoding="utf-8")  # only Саянск, in roubles
    assert load_content(content_copy).municipality().placeholders()["unit"] == "money"
    _edit(
        content_copy / "faq" / "certificate.yaml",
        "|сколько часов ещё можно использовать на программы.}",
        "|сколько денег ещё осталось.}",
    )
    problems = _problems(content_copy)
    expected = (
        "certificate-balance: answer: money words ['денег'] where the номинал is in hours (settings unit=h"
    )
    assert expected in problems


def test_a_variant_too_long_for_the_limit_is_refused(content_copy: Path) -> None:
    _edit(
        content_copy / "faq" / "certificate.yaml",
        "|Получите сертификат на новый период:",
        "|" + "очень " * 200 + ":",
    )
    assert "certificate-nominal-reset: answer:" in _problems(content_copy)
    assert "issued=per_period" in _problems(content_copy)


def test_content_check_says_what_it_rendered(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["content", "check", "--dir", str(CONTENT)]) == 0
    out = capsys.readouterr().out
    assert "every answer rendered for 2 municipalities and 14 other combinations of settings" in out


# --- sources and the review date ------------------------------------------------------------


def test_every_entry_names_its_basis_and_review_date() -> None:
    _, kb = _knowledge_base()
    for entry in kb:
        assert entry.sources, entry.id
        assert entry.reviewed is not None and entry.reviewed <= date.today(), entry.id
    for rid in REQUIRED_IDS:
        entry = kb.get(rid)
        assert entry is not None and entry.sources and entry.reviewed is not None, rid
    links = [s for e in kb for s in e.sources if isinstance(s, SourceLink)]
    assert links and all(link.url.startswith("https://") for link in links)


def _without_basis(text: str, entry_id: str) -> str:
    """The YAML text with the `sources:` and `reviewed:` lines of one entry removed."""
    start = text.index(f"  - id: {entry_id}\n")
    begin = text.index("    sources:\n", start)
    end = text.index("\n", text.index("    reviewed: ", begin)) + 1
    return text[:begin] + text[end:]


def test_a_required_topic_without_sources_is_refused(content_copy: Path) -> None:
    path = content_copy / "faq" / "certificate.yaml"
    path.write_text(_without_basis(path.read_text(encoding="utf-8"), "certificate-what"), encoding="utf-8")
    problems = _problems(content_copy)
    assert "faq/certificate.yaml: certificate-what: sources: required for this topic" in problems
    assert "faq/certificate.yaml: certificate-what: reviewed: required with sources" in problems


def test_an_optional_topic_may_go_without_sources_but_not_half(content_copy: Path) -> None:
    path = content_copy / "faq" / "certificate.yaml"
    path.write_text(
        _without_basis(path.read_text(encoding="utf-8"), "certificate-benefits"), encoding="utf-8"
    )
    entry = load_content(content_copy).section("faq").get("certificate-benefits")
    assert entry is not None and entry.sources == ()
    related = "    related: [certificate-types, ovz, certificate-funds-out]\n"
    _edit(path, related, related + "    reviewed: 2025-01-10\n")
    assert "certificate-benefits: sources: a reviewed date needs the sources" in _problems(content_copy)


@pytest.mark.parametrize(
    ("new", "reason"),
    [
        ("reviewed: 2026-02-30", "certificate-what: reviewed: Input should be a valid date"),
        ("reviewed: 29.11.2026", "certificate-what: reviewed: Value error, write the date as YYYY-MM-DD"),
        ("reviewed: 20261129", "certificate-what: reviewed: Value error, write the date as YYYY-MM-DD"),
        ("reviewed: 2999-01-01", "certificate-what: reviewed: 2999-01-01 is in the future"),
    ],
)
def test_a_bad_review_date_is_refused(content_copy: Path, new: str, reason: str) -> None:
    path = content_copy / "faq" / "certificate.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: certificate-what\n")
    at = text.index("    reviewed: ", start)
    end = text.index("\n", at)
    path.write_text(text[:at] + "    " + new + text[end:], encoding="utf-8")
    assert reason in _problems(content_copy)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            '{title: "Закон о чём-то", url: "ftp://example.ru"}',
            "sources.0.link.url: Value error, must start",
        ),
        ('"ст. 1 закона о {region_name}"', "sources: placeholders are not allowed"),
        ('""', "sources.0.text: String should have at least 3 characters"),
        ('{title: "Закон"}', "sources.0.link.url: Field required"),
    ],
)
def test_a_bad_source_is_refused(content_copy: Path, source: str, reason: str) -> None:
    path = content_copy / "faq" / "certificate.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: certificate-what\n")
    at = text.index("    sources:\n", start) + len("    sources:\n")
    path.write_text(text[:at] + f"      - {source}\n" + text[at:], encoding="utf-8")
    problems = _problems(content_copy)
    assert "faq/certificate.yaml: certificate-what: " in problems and reason in problems, problems


def test_the_same_source_twice_is_refused(content_copy: Path) -> None:
    path = content_copy / "faq" / "certificate.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - id: social-order\n")
    at = text.index("    sources:\n", start) + len("    sources:\n")
    line_end = text.index("\n", at) + 1
    path.write_text(text[:line_end] + text[at:line_end] + text[line_end:], encoding="utf-8")
    assert "social-order: sources: the same source twice" in _problems(content_copy)
