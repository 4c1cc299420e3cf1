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


def test_tuning_reads_only_the_tune_split(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import faq_tune

    eval_file = tmp_path / "eval.yaml"
    eval_file.write_text(
        "items:\n"
        '  - {q: "как получить сертификат", id: certificate-how-to-get, split: tune}\n'
        '  - {q: "погода завтра", id: null, split: tune}\n'
        '  - {q: "что такое навигатор", id: navigator-what, split: holdout}\n',
        encoding="utf-8",
    )
    grid = ["--grid", "answer=0.55", "--grid", "margin=0.15", "--grid", "high=0.8", "--grid", "outside=0.5"]
    args = [
        "--eval",
        str(eval_file),
        "--top",
        "1",
        "--set",
        "w_classifier=0.2",
        "--grid",
        "clarify=0.4",
        *grid,
    ]
    assert faq_tune.main(args) == 0
    out = capsys.readouterr().out
    assert "tune: 2 questions" in out and "w_classifier" in out
    best = out.strip().splitlines()[-1].split()
    # the one in-scope tune question is answered right and the weather is not answered
    assert best[-4:] == ["100.0%", "0.0%", "100.0%", "0.0%"]

    # by default it reads every set, own and independent, and never keeps a holdout item
    loaded: list[faq_eval.Item] = []
    real = faq_eval.load_sets

    def spy(paths, splits=None):  # type: ignore[no-untyped-def]
        items = real(paths, splits)
        loaded.extend(items)
        return items

    monkeypatch.setattr(faq_tune, "load_sets", spy)
    assert faq_tune.main(["--top", "1", *grid, "--grid", "clarify=0.4"]) == 0
    sources = {i.source for i in loaded}
    assert {"own", "public", "tired-parent", "headings"} <= sources
    assert loaded and all(i.split == "tune" for i in loaded)


def test_loading_a_split_keeps_no_other_item(tmp_path) -> None:  # type: ignore[no-untyped-def]
    eval_file = tmp_path / "set.yaml"
    eval_file.write_text(
        "source: mine\nitems:\n"
        '  - {q: "a", id: x, split: tune}\n'
        '  - {q: "b", id: null, split: holdout}\n'
        '  - {q: "c", id: y, split: tune, ambiguous: true}\n',
        encoding="utf-8",
    )
    items = faq_eval.load_items(eval_file, ["tune"])
    assert [(i.q, i.source, i.ambiguous) for i in items] == [("a", "mine", False), ("c", "mine", True)]


def test_ambiguous_questions_asked_back_count_as_correct_and_parts_as_their_topic() -> None:
    items = [
        faq_eval.Item("general", "a", "tune", ambiguous=True),
        faq_eval.Item("specific", "a", "tune"),
        faq_eval.Item("part", "a-part", "tune"),
    ]
    answers = {
        "general": faq_eval.Outcome("clarify", ("b", "a")),
        "specific": faq_eval.Outcome("clarify", ("b", "a")),
        "part": faq_eval.Outcome("answer", ("a",)),
    }
    result = faq_eval.evaluate(items, lambda q: answers[q], {"a-part": "a"})["tune"]
    # asked back: correct only where no single topic is right; shown for all; the part is its topic
    assert result["correct"] == 2 / 3 and result["shown"] == 1.0 and result["clarify"] == 2 / 3


def test_near_copies_are_found_both_ways() -> None:
    lines = ["Как получить сертификат на кружок?", "погода завтра в городе", "совсем другое"]
    questions = ["как получить сертификат на кружок", "в городе погода завтра"]
    assert faq_eval.near_copies(lines, questions, 85) == {0, 1}
    items = [
        faq_eval.Item("как получить сертификат", "a", "tune"),
        faq_eval.Item("как получить сертификат?", "a", "holdout"),
        faq_eval.Item("совсем другой вопрос", "b", "holdout"),
    ]
    kept, dropped = faq_eval.drop_holdout_copies(items)
    assert dropped == 1 and [i.q for i in kept] == ["как получить сертификат", "совсем другой вопрос"]
