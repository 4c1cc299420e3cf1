"""Choose the FAQ matcher's decision thresholds on the `tune` split only.

    .venv/bin/python bench/faq_tune.py [--content DIR] [--eval FILE] [--top N]

Reads only the `tune` questions of the evaluation set (the `holdout` ones are
skipped when loading, so they cannot influence the choice), tries a grid of
answer thresholds and prints the best settings by

    correct - 2 * wrong - 0.5 * (in scope, right topic not shown) - 2 * out-of-scope answered

(a wrong answer costs about twice a right answer that only appears as a
suggestion). Shares are counted by topic, as in bench/faq_eval.py. The chosen
values go into `Thresholds` in bot/services/faq/matcher.py by hand.
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

from faq_eval import evaluate, load_items, matcher_runner  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.services.faq.engine import index_entries, shared_normalizer  # noqa: E402
from bot.services.faq.knowledge import KnowledgeBase  # noqa: E402
from bot.services.faq.matcher import Matcher, Thresholds  # noqa: E402

GRID = {
    "answer": (0.45, 0.50, 0.55, 0.60, 0.65),
    "margin": (0.06, 0.09, 0.12, 0.15),
    "high": (0.70, 0.80),
    "high_margin": (0.01, 0.03, 0.05),
}


def objective(r: dict[str, float]) -> float:
    return r["correct"] - 2 * r["wrong"] - 0.5 * (1 - r["shown"]) - 2 * r["oos_answered"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--eval", type=Path, default=ROOT / "bench" / "data" / "faq_eval.yaml")
    parser.add_argument("--top", type=int, default=5, help="how many of the best settings to print")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="fix another threshold or weight"
    )
    args = parser.parse_args(argv)

    kb = load_content(args.content).section("faq")
    assert isinstance(kb, KnowledgeBase)
    entries = index_entries(kb)
    topic_of = {e.id: e.topic for e in kb if e.topic}
    tune = [i for i in load_items(args.eval) if i.split == "tune"]
    fixed = {name: float(value) for name, value in (item.split("=", 1) for item in args.set)}
    base = dataclasses.replace(Thresholds(), **fixed)
    matcher = Matcher(entries, outside=kb.outside, thresholds=base, normalizer=shared_normalizer())

    results = []
    for values in itertools.product(*GRID.values()):
        matcher.thresholds = dataclasses.replace(base, **dict(zip(GRID, values, strict=True)))
        r = evaluate(tune, matcher_runner(matcher), topic_of)["tune"]
        results.append((objective(r), values, r))
    results.sort(key=lambda x: x[0], reverse=True)
    print(f"tune: {len(tune)} questions; fixed: {fixed or 'as shipped'}")
    print(f"  {'objective':>9}  {' '.join(f'{k:>11}' for k in GRID)}  correct  wrong  shown  oos")
    for score, values, r in results[: args.top]:
        cells = " ".join(f"{v:11.2f}" for v in values)
        print(
            f"  {score:9.3f}  {cells}  {r['correct']:7.1%} {r['wrong']:6.1%} {r['shown']:6.1%} "
            f"{r['oos_answered']:4.1%}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
