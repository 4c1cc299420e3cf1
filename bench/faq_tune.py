"""Choose the FAQ matcher's decision thresholds on the `tune` split only.

    .venv/bin/python bench/faq_tune.py [--content DIR] [--eval FILE ...] [--top N] [--set NAME=VALUE]

Reads only the `tune` questions of the evaluation sets (the project's own
`bench/data/faq_eval.yaml` and the independent `bench/data/faq_real/*.yaml`; the
`holdout` ones are skipped when loading, so they cannot influence the choice),
tries a grid of thresholds and prints the best settings by

    correct - 2 * wrong - 0.5 * (in scope, right topic not shown) - 2 * out-of-scope answered

averaged over the sets with equal weight (so the small independent sets count as
much as the large own one). A wrong answer costs about twice a right answer that
only appears as a suggestion or a question back. Shares are counted by topic, as in
bench/faq_eval.py, with the same near-copies left out of the index. The chosen values
go into `Thresholds` in bot/services/faq/matcher.py by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from faq_eval import (  # noqa: E402
    default_sets,
    lift,
    load_sets,
    matcher_runner,
    shares,
    without_near_copies,
)

from bot.content import load_content  # noqa: E402
from bot.services.faq.knowledge import KnowledgeBase  # noqa: E402
from bot.services.faq.matcher import Thresholds  # noqa: E402

GRID = {
    "answer": (0.50, 0.55, 0.60),
    "margin": (0.09, 0.12, 0.15),
    "high": (0.75, 0.80, 0.85),
    "outside": (0.40, 0.50, 0.60),
    "clarify": (0.35, 0.45),
}


def objective(r: dict[str, float]) -> float:
    return r["correct"] - 2 * r["wrong"] - 0.5 * (1 - r["shown"]) - 2 * r["oos_answered"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument(
        "--eval", type=Path, action="append", default=None, help="evaluation file (repeatable)"
    )
    parser.add_argument("--top", type=int, default=5, help="how many of the best settings to print")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="fix another threshold or weight"
    )
    parser.add_argument(
        "--grid", action="append", default=[], metavar="NAME=V1,V2", help="search these values instead"
    )
    args = parser.parse_args(argv)

    kb = load_content(args.content).section("faq")
    assert isinstance(kb, KnowledgeBase)
    tune = load_sets(args.eval or default_sets(), ["tune"])
    assert all(i.split == "tune" for i in tune)
    topic_of = {e.id: e.topic for e in kb if e.topic}
    fixed = {name: float(value) for name, value in (item.split("=", 1) for item in args.set)}
    grid = dict(GRID)
    for item in args.grid:
        name, values = item.split("=", 1)
        grid[name] = tuple(float(v) for v in values.split(","))
    grid = {k: v for k, v in grid.items() if k not in fixed}
    base = dataclasses.replace(Thresholds(), **fixed)
    matcher = without_near_copies(kb, [i.q for i in tune]).matcher(kb)
    sources = sorted({i.source for i in tune})

    results = []
    for values in itertools.product(*grid.values()):
        matcher.thresholds = dataclasses.replace(base, **dict(zip(grid, values, strict=True)))
        run = matcher_runner(matcher)
        pairs = [lift(item, run(item.q), topic_of) for item in tune]
        per_set = {s: shares([(i, o) for i, o in pairs if i.source == s]) for s in sources}
        score = sum(objective(r) for r in per_set.values()) / max(1, len(per_set))
        results.append((score, values, shares(pairs)))
    results.sort(key=lambda x: x[0], reverse=True)
    print(f"tune: {len(tune)} questions ({', '.join(sources)}); fixed: {fixed or 'as shipped'}")
    print(f"  {'objective':>9}  {' '.join(f'{k:>11}' for k in grid)}  correct  wrong  shown  oos")
    for score, values, r in results[: args.top]:
        cells = " ".join(f"{v:11.2f}" for v in values)
        print(
            f"  {score:9.3f}  {cells}  {r['correct']:7.1%} {r['wrong']:6.1%} {r['shown']:6.1%} "
            f"{r['oos_answered']:4.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
