"""FAQ matcher benchmark: quality on the independent evaluation set, and speed.

    .venv/bin/python bench/faq_eval.py [--content DIR] [--eval FILE] [--errors]

Prints, for the `tune` split, the `holdout` split (thresholds are never tuned on
it) and all questions:
- correct: in-scope questions answered with the expected entry;
- wrong: in-scope questions answered with another entry;
- in answer/suggestions: the expected entry was the answer or among the 3 suggestions;
- out-of-scope answered: questions labelled `id: null` that got a confident answer;
then latency p50/p99 per question with the shipped content and with the content
scaled to 1,000 entries (synthetic entries made by recombining real phrasings),
and the same figures for a naive baseline (rapidfuzz WRatio of the raw question
against the raw phrasings, the best match wins, always answers).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.services.faq.engine import index_entries, shared_normalizer  # noqa: E402
from bot.services.faq.knowledge import KnowledgeBase  # noqa: E402
from bot.services.faq.matcher import Decision, IndexEntry, Matcher  # noqa: E402


@dataclass(frozen=True)
class Item:
    q: str
    id: str | None
    split: str


@dataclass(frozen=True)
class Outcome:
    decision: str  # answer | suggest | fallback | smalltalk
    ids: tuple[str, ...]  # answer first, then suggestions


def load_items(path: Path) -> list[Item]:
    """The items of an evaluation file; those marked `checked: false` (exported by `mocbot
    export-questions` and not labelled yet) are skipped."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        Item(str(i["q"]), i.get("id"), str(i.get("split", "tune")))
        for i in data["items"]
        if i.get("checked", True) is not False
    ]


def evaluate(
    items: Sequence[Item], run: Callable[[str], Outcome], topic_of: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    """Shares per split. With `topic_of`, an entry that declares `topic: X` counts as X."""
    results: dict[str, dict[str, float]] = {}
    lift = topic_of or {}
    outcomes = [
        (item, Outcome(o.decision, tuple(lift.get(i, i) for i in o.ids)))
        for item, o in ((it, run(it.q)) for it in items)
    ]
    for split in ("tune", "holdout", "all"):
        chosen = [(i, o) for i, o in outcomes if split in ("all", i.split)]
        inside = [(i, o) for i, o in chosen if i.id is not None]
        outside = [(i, o) for i, o in chosen if i.id is None]
        n = max(1, len(inside))
        correct = sum(1 for i, o in inside if o.decision == "answer" and o.ids[0] == i.id)
        wrong = sum(1 for i, o in inside if o.decision == "answer" and o.ids[0] != i.id)
        shown = sum(
            1
            for i, o in inside
            if (o.decision == "answer" and o.ids[0] == i.id)
            or (o.decision == "suggest" and i.id in o.ids[:3])
        )
        oos = sum(1 for _, o in outside if o.decision == "answer")
        results[split] = {
            "n": len(inside),
            "n_oos": len(outside),
            "correct": correct / n,
            "wrong": wrong / n,
            "shown": shown / n,
            "oos_answered": oos / max(1, len(outside)),
        }
    return results


def latency(run: Callable[[str], object], questions: Sequence[str], rounds: int = 5) -> tuple[float, float]:
    """p50 and p99 in ms over questions; each question's time is its median of `rounds` runs
    (so a moment when another process takes the CPU does not count as the matcher's time)."""
    for q in questions:  # warm the caches once, as a running bot would be
        run(q)
    per_question: list[list[float]] = [[] for _ in questions]
    for _ in range(rounds):
        for i, q in enumerate(questions):
            start = time.perf_counter()
            run(q)
            per_question[i].append(time.perf_counter() - start)
    times = sorted(statistics.median(t) for t in per_question)
    return statistics.median(times) * 1000, times[min(len(times) - 1, int(len(times) * 0.99))] * 1000


def scaled_entries(entries: Sequence[IndexEntry], target: int, seed: int = 7) -> list[IndexEntry]:
    """The real entries plus synthetic ones (words of real phrasings recombined) up to `target`."""
    rng = random.Random(seed)
    words = sorted({w for e in entries for q in e.questions for w in q.split() if len(w) > 2})
    result = list(entries)
    index = 0
    while len(result) < target:
        index += 1
        questions = [" ".join(rng.sample(words, rng.randint(4, 9))) for _ in range(rng.randint(8, 14))]
        keywords = [" ".join(rng.sample(words, 2)) for _ in range(3)]
        result.append(IndexEntry(f"synthetic-{index}", questions[0][:60], questions, keywords))
    return result


def matcher_runner(matcher: Matcher) -> Callable[[str], Outcome]:
    def run(q: str) -> Outcome:
        r = matcher.match(q)
        return Outcome(str(r.decision), tuple(c.id for c in r.candidates))

    return run


def baseline_runner(entries: Sequence[IndexEntry]) -> Callable[[str], Outcome]:
    """Naive: WRatio of the raw question against every raw phrasing; the best one answers."""
    choices: list[str] = []
    owners: list[str] = []
    for e in entries:
        for q in e.questions:
            choices.append(q)
            owners.append(e.id)

    def run(q: str) -> Outcome:
        best = process.extract(q, choices, scorer=fuzz.WRatio, limit=30)
        ids: list[str] = []
        for _, _, idx in best:
            if owners[idx] not in ids:
                ids.append(owners[idx])
            if len(ids) == 3:
                break
        return Outcome("answer", tuple(ids) or ("-",))

    return run


def print_quality(title: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    head = f"{'n':>4} {'correct':>8} {'wrong':>7} {'in ans/sugg':>12} {'oos n':>6} {'oos answered':>13}"
    print(f"  {'split':8} {head}")
    for split, r in results.items():
        print(
            f"  {split:8} {int(r['n']):4d} {r['correct']:8.1%} {r['wrong']:7.1%} {r['shown']:12.1%} "
            f"{int(r['n_oos']):6d} {r['oos_answered']:13.1%}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--eval", type=Path, default=ROOT / "bench" / "data" / "faq_eval.yaml")
    parser.add_argument("--errors", action="store_true", help="list the tune-split mistakes")
    parser.add_argument("--scale", type=int, default=1000, help="entries in the scaled knowledge base")
    args = parser.parse_args(argv)

    content = load_content(args.content)
    kb = content.section("faq")
    assert isinstance(kb, KnowledgeBase)
    entries = index_entries(kb)
    items = load_items(args.eval)
    start = time.perf_counter()
    matcher = Matcher(entries, outside=kb.outside, normalizer=shared_normalizer())
    build_s = time.perf_counter() - start
    print(
        f"content: {len(entries)} entries, {sum(len(e.questions) for e in entries)} phrasings; "
        f"eval: {len(items)} questions ({sum(1 for i in items if i.id is None)} out of scope); "
        f"index built in {build_s * 1000:.0f} ms"
    )

    topic_of = {e.id: e.topic for e in kb if e.topic}
    run = matcher_runner(matcher)
    print_quality("mocbot matcher, exact id", evaluate(items, run))
    print_quality(
        f"mocbot matcher, by topic (the {len(topic_of)} entries that declare `topic:` count as it)",
        evaluate(items, run, topic_of),
    )
    base = baseline_runner(entries)
    print_quality("naive baseline (rapidfuzz WRatio, best phrasing wins), exact id", evaluate(items, base))
    print_quality("naive baseline, by topic", evaluate(items, base, topic_of))

    questions = [i.q for i in items]
    big_entries = scaled_entries(entries, args.scale)
    start = time.perf_counter()
    big = Matcher(big_entries, outside=kb.outside, normalizer=shared_normalizer())
    big_build = time.perf_counter() - start
    print("\nlatency per question (ms)        p50     p99")
    p50, p99 = latency(run, questions)
    print(f"  matcher, shipped content   {p50:7.2f} {p99:7.2f}")
    p50, p99 = latency(matcher_runner(big), questions)
    built = f"(index built in {big_build:.1f} s)"
    print(f"  matcher, {len(big_entries)} entries     {p50:7.2f} {p99:7.2f}   {built}")
    p50, p99 = latency(base, questions, rounds=1)
    print(f"  baseline, shipped content  {p50:7.2f} {p99:7.2f}")
    p50, p99 = latency(baseline_runner(big_entries), questions[::4], rounds=1)
    print(f"  baseline, {len(big_entries)} entries    {p50:7.2f} {p99:7.2f}   (every 4th question)")

    if args.errors:
        print("\ntune-split mistakes:")
        for item in items:
            if item.split != "tune":
                continue
            r = matcher.match(item.q)
            ids = [c.id for c in r.candidates]
            ok = (r.decision is Decision.ANSWER and ids[:1] == [item.id]) or (
                item.id is None and r.decision is not Decision.ANSWER
            )
            if not ok:
                shown = ", ".join(f"{c.id}:{c.score:.2f}" for c in r.candidates)
                print(f"  [{r.decision}] {item.q!r} expected {item.id}; got {shown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
