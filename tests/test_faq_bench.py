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


def test_tuning_reads_only_the_tune_split(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    import faq_tune

    eval_file = tmp_path / "eval.yaml"
    eval_file.write_text(
        "items:\n"
        '  - {q: "как получить сертификат", id: certificate-how-to-get, split: tune}\n'
        '  - {q: "погода завтра", id: null, split: tune}\n'
        '  - {q: "что такое навигатор", id: navigator-what, split: holdout}\n',
        encoding="utf-8",
    )
    assert faq_tune.main(["--eval", str(eval_file), "--top", "1", "--set", "w_classifier=0.2"]) == 0
    out = capsys.readouterr().out
    assert "tune: 2 questions" in out and "w_classifier" in out
    best = out.strip().splitlines()[-1].split()
    # the one in-scope tune question is answered right and the weather is not answered
    assert best[-4:] == ["100.0%", "0.0%", "100.0%", "0.0%"]
