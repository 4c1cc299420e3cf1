"""FAQ matcher benchmark: quality on the evaluation sets, and speed.

    .venv/bin/python bench/faq_eval.py [--content DIR] [--eval FILE ...] [--tune-only] [--errors]

The sets (default): the project's own `bench/data/faq_eval.yaml` (written from the
topic definitions) and the independent sets in `bench/data/faq_real/*.yaml`
(questions collected from public places, questions written like a tired parent on a
phone, headings as help pages title them), each with a `tune` and a `holdout` split, and
`fresh`, written before its writer read the content, holdout only.
No threshold, word list or phrasing is ever chosen on `holdout`.

Near-copies between content and evaluation are dropped in both directions before
measuring: a content phrasing or outside line that is a near-copy of an evaluation
question is left out of the index, and a holdout question that is a near-copy of a
tune question (of any set) is left out of holdout. How many is printed.

Prints per set and split, and in total (counted by topic: an entry that declares
`topic: X` counts as X):
- correct: in-scope questions answered with the expected topic (a question marked
  `ambiguous` — general, no single topic right — also when asked back with it offered);
- wrong: in-scope questions answered with another topic;
- shown: the expected topic was the answer, one of the 3 suggestions or one of the
  2-4 topics offered by a clarification (a clarification is never "correct");
- clarify: in-scope questions asked back;
- oos answered: out-of-scope questions (`id: null`) that got an answer;
then the targets for the independent sets, a confusion summary on `tune` (which
topics steal from which), latency p50/p99 per question with the shipped content and
with the content scaled to 1,000 entries, the index build times, and a naive
baseline (rapidfuzz WRatio of the raw question against the raw phrasings).
`--tune-only` loads no holdout question at all (for daily work).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from rapidfuzz import fuzz, process  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.services.faq.engine import (  # noqa: E402
    clarify_groups,
    index_entries,
    outside_topics,
    shared_normalizer,
)
from bot.services.faq.knowledge import KnowledgeBase  # noqa: E402
from bot.services.faq.matcher import IndexEntry, Matcher, OutsideTopic  # noqa: E402

OWN_SET = ROOT / "bench" / "data" / "faq_eval.yaml"
REAL_SETS = ROOT / "bench" / "data" / "faq_real"
SPLITS = ("tune", "holdout")
# near-copy: similarity of the normalised texts (rapidfuzz ratio / token-sort ratio)
NEAR_COPY = 85
NEAR_COPY_OUTSIDE = 75  # outside lines are short and generic: a lower bar
TARGETS = {
    "correct": (">=", 0.90),
    "wrong": ("<=", 0.03),
    "shown": (">=", 0.97),
    "oos_answered": ("<=", 0.05),
}


@dataclass(frozen=True)
class Item:
    q: str
    id: str | None
    split: str
    source: str = "own"
    ambiguous: bool = False


@dataclass(frozen=True)
class Outcome:
    decision: str  # answer | clarify | suggest | redirect | fallback | smalltalk
    ids: tuple[str, ...]  # answer first, then suggestions; or the offered topics


def load_items(path: Path, splits: Iterable[str] | None = None) -> list[Item]:
    """The items of an evaluation file, only those of `splits` when given (the others are never
    kept in memory). Items marked `checked: false` (exported by `mocbot export-questions` and
    not labelled yet) are skipped."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    default = "own" if path.name == OWN_SET.name else path.stem
    source = str(data.get("source") or default) if isinstance(data, dict) else default
    wanted = set(splits) if splits is not None else None
    items: list[Item] = []
    for raw in data["items"]:
        split = str(raw.get("split", "tune"))
        if raw.get("checked", True) is False or (wanted is not None and split not in wanted):
            continue
        label = raw.get("id")
        items.append(
            Item(str(raw["q"]), str(label) if label else None, split, source, bool(raw.get("ambiguous")))
        )
    return items


def default_sets() -> list[Path]:
    return [OWN_SET, *sorted(REAL_SETS.glob("*.yaml"))]


def load_sets(paths: Sequence[Path], splits: Iterable[str] | None = None) -> list[Item]:
    return [item for path in paths for item in load_items(path, splits)]


# --- counting ------------------------------------------------------------------------
def lift(item: Item, outcome: Outcome, topic_of: dict[str, str]) -> tuple[Item, Outcome]:
    """Both the label and the matcher's ids counted as their topic (parts are interchangeable
    with their topic)."""
    label = topic_of.get(item.id, item.id) if item.id else None
    return replace(item, id=label), Outcome(outcome.decision, tuple(topic_of.get(i, i) for i in outcome.ids))


def shown(item: Item, o: Outcome) -> bool:
    if o.decision == "answer":
        return o.ids[:1] == (item.id,)
    if o.decision == "suggest":
        return item.id in o.ids[:3]
    return o.decision == "clarify" and item.id in o.ids[:4]


def correct(item: Item, o: Outcome) -> bool:
    """Answered with the expected topic; for a question marked ambiguous (a general one, no
    single topic is right), asking back with the expected topic among the offers is correct too."""
    if o.decision == "answer":
        return o.ids[:1] == (item.id,)
    return item.ambiguous and o.decision == "clarify" and item.id in o.ids[:4]


def shares(pairs: Sequence[tuple[Item, Outcome]]) -> dict[str, float]:
    inside = [(i, o) for i, o in pairs if i.id is not None]
    outside = [(i, o) for i, o in pairs if i.id is None]
    n = max(1, len(inside))
    return {
        "n": len(inside),
        "n_oos": len(outside),
        "correct": sum(1 for i, o in inside if correct(i, o)) / n,
        "wrong": sum(1 for i, o in inside if o.decision == "answer" and o.ids[0] != i.id) / n,
        "shown": sum(1 for i, o in inside if shown(i, o)) / n,
        "clarify": sum(1 for _, o in inside if o.decision == "clarify") / n,
        "oos_answered": sum(1 for _, o in outside if o.decision == "answer") / max(1, len(outside)),
    }


def evaluate(
    items: Sequence[Item], run: Callable[[str], Outcome], topic_of: dict[str, str] | None = None
) -> dict[str, dict[str, float]]:
    """Shares per split. With `topic_of`, an entry that declares `topic: X` counts as X."""
    pairs = [lift(item, run(item.q), topic_of or {}) for item in items]
    return {
        split: shares([(i, o) for i, o in pairs if split in ("all", i.split)]) for split in (*SPLITS, "all")
    }


def by_source(pairs: Sequence[tuple[Item, Outcome]]) -> dict[tuple[str, str], dict[str, float]]:
    """Shares per (set, split), per set over both splits, and over the independent sets."""
    sources = list(dict.fromkeys(i.source for i, _ in pairs))
    independent = [s for s in sources if s != "own"]
    groups: dict[tuple[str, str], list[tuple[Item, Outcome]]] = {}
    for name in [*sources, *(["independent"] if len(independent) > 1 else [])]:
        members = independent if name == "independent" else [name]
        for split in (*SPLITS, "all"):
            chosen = [(i, o) for i, o in pairs if i.source in members and split in ("all", i.split)]
            if chosen:
                groups[(name, split)] = chosen
    return {key: shares(chosen) for key, chosen in groups.items()}


def confusion(pairs: Sequence[tuple[Item, Outcome]], top: int = 15) -> list[tuple[str, str, int, int]]:
    """(expected, taken by, times ranked first, of which answered) over in-scope questions whose
    first answer or candidate is another topic; (expected None = out of scope answered)."""
    first: Counter[tuple[str, str]] = Counter()
    answered: Counter[tuple[str, str]] = Counter()
    for item, o in pairs:
        if not o.ids or o.decision in ("fallback", "redirect", "smalltalk"):
            continue
        if item.id is None and o.decision != "answer":
            continue
        if o.ids[0] != item.id:
            key = (item.id or "(out of scope)", o.ids[0])
            first[key] += 1
            answered[key] += o.decision == "answer"
    return [(a, b, n, answered[(a, b)]) for (a, b), n in first.most_common(top)]


# --- near-copies -----------------------------------------------------------------------
_WORD = re.compile(r"[a-zа-я0-9]+")


def surface(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


def near_copies(lines: Sequence[str], questions: Sequence[str], cutoff: int) -> set[int]:
    """Indices of `lines` that are near-copies of any of `questions` (either one written from
    the other: the ratio and the word-order-free ratio are symmetric)."""
    if not lines or not questions:
        return set()
    a = [surface(t) for t in lines]
    b = [surface(t) for t in questions]
    found: set[int] = set()
    for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
        scores = process.cdist(a, b, scorer=scorer, score_cutoff=cutoff, workers=1)
        found.update(int(i) for i in (scores.max(axis=1) >= cutoff).nonzero()[0])
    return found


@dataclass(frozen=True)
class Index:
    """What the matcher is built from, with near-copies of the evaluation left out."""

    entries: list[IndexEntry]
    outside: list[str]
    topics: list[OutsideTopic]
    dropped_phrasings: int
    dropped_outside: int

    def matcher(self, kb: KnowledgeBase, entries: Sequence[IndexEntry] | None = None) -> Matcher:
        return Matcher(
            list(entries if entries is not None else self.entries),
            outside=self.outside,
            topics=self.topics,
            clarify=clarify_groups(kb),
            normalizer=shared_normalizer(),
        )


def without_near_copies(kb: KnowledgeBase, questions: Sequence[str]) -> Index:
    entries = index_entries(kb)
    flat = [(k, q) for k, e in enumerate(entries) for q in e.questions]
    drop = near_copies([q for _, q in flat], questions, NEAR_COPY)
    keep: dict[int, list[str]] = {k: [] for k in range(len(entries))}
    for n, (k, q) in enumerate(flat):
        if n not in drop:
            keep[k].append(q)
    kept_entries = [replace(e, questions=tuple(keep[k])) for k, e in enumerate(entries)]
    outside = list(kb.outside)
    drop_out = near_copies(outside, questions, NEAR_COPY_OUTSIDE)
    topics: list[OutsideTopic] = []
    dropped_topics = 0
    for topic in outside_topics(kb):
        gone = near_copies(topic.questions, questions, NEAR_COPY_OUTSIDE)
        dropped_topics += len(gone)
        topics.append(
            replace(topic, questions=tuple(q for n, q in enumerate(topic.questions) if n not in gone))
        )
    return Index(
        kept_entries,
        [q for n, q in enumerate(outside) if n not in drop_out],
        topics,
        len(drop),
        len(drop_out) + dropped_topics,
    )


def drop_holdout_copies(items: Sequence[Item]) -> tuple[list[Item], int]:
    """Holdout questions that are near-copies of a tune question are not blind: left out."""
    tune = [i.q for i in items if i.split == "tune"]
    holdout = [k for k, i in enumerate(items) if i.split == "holdout"]
    copies = {holdout[n] for n in near_copies([items[k].q for k in holdout], tune, NEAR_COPY)}
    return [i for k, i in enumerate(items) if k not in copies], len(copies)


# --- speed -------------------------------------------------------------------------------
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


# --- printing ------------------------------------------------------------------------------
HEAD = (
    f"{'set':13} {'split':8} {'n':>4} {'correct':>8} {'wrong':>7} {'shown':>7} {'clarify':>8} "
    f"{'oos n':>6} {'oos answered':>13}"
)


def row(name: str, split: str, r: dict[str, float]) -> str:
    return (
        f"{name:13} {split:8} {int(r['n']):4d} {r['correct']:8.1%} {r['wrong']:7.1%} {r['shown']:7.1%} "
        f"{r['clarify']:8.1%} {int(r['n_oos']):6d} {r['oos_answered']:13.1%}"
    )


def print_quality(title: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}")
    print("  " + HEAD.replace(f"{'set':13} ", ""))
    for split, r in results.items():
        print("  " + row("", split, r)[14:])


def print_sources(title: str, results: dict[tuple[str, str], dict[str, float]]) -> None:
    print(f"\n{title}\n  {HEAD}")
    for (name, split), r in results.items():
        print(f"  {row(name, split, r)}")


def meets(r: dict[str, float]) -> list[str]:
    missed = []
    for key, (op, bound) in TARGETS.items():
        ok = r[key] >= bound if op == ">=" else r[key] <= bound
        if not ok:
            missed.append(f"{key} {r[key]:.1%} (target {op} {bound:.0%})")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument(
        "--eval",
        type=Path,
        action="append",
        default=None,
        help="evaluation file (repeatable; default: all sets)",
    )
    parser.add_argument("--tune-only", action="store_true", help="load only the tune split of every set")
    parser.add_argument("--errors", action="store_true", help="list the tune-split mistakes")
    parser.add_argument("--scale", type=int, default=1000, help="entries in the scaled knowledge base")
    parser.add_argument("--no-speed", action="store_true", help="skip the latency part and the baseline")
    args = parser.parse_args(argv)

    content = load_content(args.content)
    kb = content.section("faq")
    assert isinstance(kb, KnowledgeBase)
    paths = args.eval or default_sets()
    items = load_sets(paths, ["tune"] if args.tune_only else None)
    items, holdout_copies = drop_holdout_copies(items)
    index = without_near_copies(kb, [i.q for i in items])
    shipped = index_entries(kb)
    start = time.perf_counter()
    Matcher(shipped, outside=kb.outside, topics=outside_topics(kb), clarify=clarify_groups(kb),
            normalizer=shared_normalizer())  # fmt: skip
    build_s = time.perf_counter() - start
    matcher = index.matcher(kb)
    sources = Counter(i.source for i in items)
    print(
        f"content: {len(shipped)} entries, {sum(len(e.questions) for e in shipped)} phrasings, "
        f"{len(kb.outside) + sum(len(r.questions) for r in kb.redirects)} outside lines in "
        f"{len(kb.redirects)} redirects, {len(kb.clarify)} clarify groups; "
        f"index built in {build_s * 1000:.0f} ms"
    )
    print(
        f"eval: {len(items)} questions ({sum(1 for i in items if i.id is None)} out of scope) from "
        + ", ".join(f"{name} {n}" for name, n in sources.items())
        + (" (tune split only)" if args.tune_only else "")
    )
    print(
        f"near-copies dropped: {index.dropped_phrasings} content phrasings and {index.dropped_outside} "
        f"outside lines (similar to an evaluation question), {holdout_copies} holdout questions "
        "(similar to a tune question)"
    )

    topic_of = {e.id: e.topic for e in kb if e.topic}
    run = matcher_runner(matcher)
    raw = [(item, run(item.q)) for item in items]
    pairs = [lift(item, o, topic_of) for item, o in raw]
    exact = by_source(raw)
    topical = by_source(pairs)
    print_sources("mocbot matcher, by topic (an entry with `topic: X` counts as X)", topical)
    totals = {
        split: shares([(i, o) for i, o in raw if split in ("all", i.split)]) for split in (*SPLITS, "all")
    }
    print_quality("mocbot matcher, exact id, all sets", totals)
    if "independent" in {name for name, _ in exact}:
        print("  (exact id, independent sets: " + ", ".join(
            f"{split} {exact[('independent', split)]['correct']:.1%} correct"
            for split in (*SPLITS, "all") if ("independent", split) in exact
        ) + ")")  # fmt: skip
    ambiguous = [(i, o) for i, o in pairs if i.ambiguous]
    if ambiguous:
        clarified = sum(1 for _, o in ambiguous if o.decision == "clarify")
        right = sum(1 for i, o in ambiguous if o.decision == "answer" and o.ids[0] == i.id)
        wrong = sum(1 for i, o in ambiguous if o.decision == "answer" and o.ids[0] != i.id)
        print(
            f"\nquestions marked ambiguous: {len(ambiguous)}: asked back {clarified}, answered with the "
            f"labelled topic {right}, with another {wrong}"
        )

    print("\ntargets (correct >= 90 %, wrong <= 3 %, shown >= 97 %, out of scope answered <= 5 %):")
    for (name, split), r in topical.items():
        if name in ("own", "independent") or split == "all":
            continue
        missed = meets(r)
        print(f"  {name:13} {split:8} " + ("met" if not missed else "NOT MET: " + "; ".join(missed)))

    tune_pairs = [(i, o) for i, o in pairs if i.split == "tune"]
    print("\nconfusion on tune (expected topic <- the topic ranked first instead: times, of them answered):")
    for expected, taken, n, answered in confusion(tune_pairs):
        print(f"  {expected:34} <- {taken:34} {n:3d} {answered:3d}")

    if args.errors:
        print("\ntune-split mistakes:")
        for item, o in pairs:
            if item.split != "tune":
                continue
            ok = (o.decision == "answer" and o.ids[:1] == (item.id,)) or (
                item.id is None and o.decision != "answer"
            )
            if not ok:
                print(
                    f"  [{item.source}] [{o.decision}] {item.q!r} expected {item.id}; got {', '.join(o.ids)}"
                )

    if args.no_speed:
        return 0
    base = baseline_runner(shipped)
    print_quality("naive baseline (rapidfuzz WRatio, best phrasing wins), by topic, all sets",
                  evaluate(items, base, topic_of))  # fmt: skip

    questions = [i.q for i in items]
    big_entries = scaled_entries(shipped, args.scale)
    start = time.perf_counter()
    big = Matcher(big_entries, outside=kb.outside, topics=outside_topics(kb), clarify=clarify_groups(kb),
                  normalizer=shared_normalizer())  # fmt: skip
    big_build = time.perf_counter() - start
    full = Matcher(shipped, outside=kb.outside, topics=outside_topics(kb), clarify=clarify_groups(kb),
                   normalizer=shared_normalizer())  # fmt: skip
    print("\nlatency per question (ms)        p50     p99")
    p50, p99 = latency(matcher_runner(full), questions)
    print(f"  matcher, shipped content   {p50:7.2f} {p99:7.2f}   (index built in {build_s:.1f} s)")
    p50, p99 = latency(matcher_runner(big), questions)
    print(
        f"  matcher, {len(big_entries)} entries     {p50:7.2f} {p99:7.2f}   "
        f"(index built in {big_build:.1f} s)"
    )
    p50, p99 = latency(base, questions[::2], rounds=1)
    print(f"  baseline, shipped content  {p50:7.2f} {p99:7.2f}   (every 2nd question)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
