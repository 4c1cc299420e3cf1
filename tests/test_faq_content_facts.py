"""Municipality settings that answers take their regional facts from, the `{choice:…|…}`
placeholders that pick a wording by them, and the checks every FAQ answer passes for
every municipality (issue 13)."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from bot.content import ContentError, Nominal, load_content, render, template_problems
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
