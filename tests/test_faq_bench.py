"""Smoke test of the FAQ benchmark's arithmetic (figures themselves are printed, not asserted)."""

from __future__ import annotations

import sys

from bot.settings import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

import faq_eval

from bot.services.faq.matcher import IndexEntry


def test_evaluate_counts_each_outcome() -> None:
    items = [
        faq_eval.Item("a?", "a", "tune"),
        faq_eval.Item("b?", "b", "tune"),
        faq_eval.Item("c?", "c", "holdout"),
        faq_eval.Item("weather", None, "holdout"),
    ]
    answers = {
        "a?": faq_eval.Outcome("answer", ("a", "x")),
        "b?": faq_eval.Outcome("answer", ("x", "b")),
        "c?": faq_eval.Outcome("suggest", ("x", "y", "c")),
        "weather": faq_eval.Outcome("answer", ("x",)),
    }
    result = faq_eval.evaluate(items, lambda q: answers[q])
    assert result["tune"]["correct"] == 0.5 and result["tune"]["wrong"] == 0.5
    assert result["holdout"]["shown"] == 1.0 and result["holdout"]["oos_answered"] == 1.0
    assert result["all"]["n"] == 3 and result["all"]["n_oos"] == 1
    by_topic = faq_eval.evaluate(items, lambda q: answers[q], {"x": "b"})
    assert by_topic["tune"]["correct"] == 1.0


def test_scaled_entries_and_baseline() -> None:
    entries = [
        IndexEntry("a", "A", ["как получить сертификат", "сертификат где взять"]),
        IndexEntry("b", "B", ["что такое навигатор", "навигатор зачем"]),
    ]
    big = faq_eval.scaled_entries(entries, 25)
    assert len(big) == 25 and len({e.id for e in big}) == 25
    run = faq_eval.baseline_runner(entries)
    assert run("навигатор это что").ids[0] == "b"
