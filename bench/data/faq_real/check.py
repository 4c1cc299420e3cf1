"""Sanity check for the faq_real sets.

Run from the repository root:  python bench/data/faq_real/check.py
Reads only the topic ids (and their parent topic) from content/faq/*.yaml,
never the phrasings or answers.
"""
import glob
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
FILES = ("public.yaml", "tired-parent.yaml", "headings.yaml", "fresh.yaml")


def topic_ids():
    parent = {}
    for f in sorted(glob.glob(str(ROOT / "content/faq/*.yaml"))):
        for e in (yaml.safe_load(open(f, encoding="utf-8")) or {}).get("entries", []):
            parent[e["id"]] = e.get("topic") or e["id"]
    return parent


def norm(s):
    return re.sub(r"[^\w]+", " ", s.lower().replace("ё", "е")).strip()


def grams(s, n=3):
    s = f" {norm(s)} "
    return {s[i:i + n] for i in range(len(s) - n + 1)}


def main():
    parent = topic_ids()
    errors, items = [], []
    for name in FILES:
        doc = yaml.safe_load(open(HERE / name, encoding="utf-8"))
        if doc.get("source") not in ("public", "tired-parent", "headings", "fresh"):
            errors.append(f"{name}: bad source {doc.get('source')!r}")
        if not (doc.get("description") or "").strip():
            errors.append(f"{name}: empty description")
        for n, it in enumerate(doc["items"]):
            where = f"{name}#{n}"
            q = it.get("q")
            if not isinstance(q, str) or not q.strip():
                errors.append(f"{where}: empty q")
                continue
            if it.get("id") is not None and it["id"] not in parent:
                errors.append(f"{where}: unknown id {it['id']!r}")
            if it.get("split") not in ("tune", "holdout"):
                errors.append(f"{where}: bad split {it.get('split')!r}")
            if "ambiguous" in it and it["ambiguous"] is not True:
                errors.append(f"{where}: ambiguous must be true when present")
            if it.get("ambiguous") and it.get("id") is None:
                errors.append(f"{where}: ambiguous item needs an id")
            if doc.get("source") == "public" and not (it.get("origin") or "").strip():
                errors.append(f"{where}: public item without origin")
            extra = set(it) - {"q", "id", "split", "origin", "ambiguous"}
            if extra:
                errors.append(f"{where}: unexpected keys {sorted(extra)}")
            items.append((name, n, it))

    # duplicates and near-duplicates, inside and across files
    seen = {}
    gs = [(name, n, it["q"], grams(it["q"])) for name, n, it in items]
    for name, n, it in items:
        key = norm(it["q"])
        if key in seen:
            errors.append(f"{name}#{n}: duplicate of {seen[key]}")
        seen[key] = f"{name}#{n}"
    for i in range(len(gs)):
        for j in range(i + 1, len(gs)):
            a, b = gs[i][3], gs[j][3]
            jac = len(a & b) / len(a | b)
            if jac >= 0.6:
                errors.append(f"near-duplicate ({jac:.2f}): {gs[i][0]}#{gs[i][1]} {gs[i][2]!r} ~ {gs[j][0]}#{gs[j][1]} {gs[j][2]!r}")

    # coverage: every topic id at least twice across the files
    per_id = Counter(it["id"] for _, _, it in items if it.get("id"))
    for tid in parent:
        if per_id[tid] < 2:
            errors.append(f"coverage: {tid} appears {per_id[tid]} time(s)")

    # report
    for name in FILES:
        its = [it for f, _, it in items if f == name]
        ins = sum(1 for it in its if it.get("id"))
        hold = sum(1 for it in its if it["split"] == "holdout")
        amb = sum(1 for it in its if it.get("ambiguous"))
        print(f"{name:18} items {len(its):4}  in-scope {ins:4}  out-of-scope {len(its) - ins:4}  "
              f"holdout {hold:4} ({hold / len(its):.0%})  ambiguous {amb}")
    nulls = [it for _, _, it in items if not it.get("id")]
    print(f"{'all files':18} out-of-scope {len(nulls)}  "
          f"(holdout {sum(1 for it in nulls if it['split'] == 'holdout')})")
    by_topic = defaultdict(lambda: [0, 0])
    for _, _, it in items:
        if it.get("id"):
            g = by_topic[parent[it["id"]]]
            g[0] += 1
            g[1] += it["split"] == "holdout"
    no_hold = sorted(t for t, (tot, h) in by_topic.items() if h == 0)
    print(f"topics {len(by_topic)}; topics with no holdout item: {len(no_hold)} {no_hold}")

    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors:
            print(" -", e)
        sys.exit(1)
    print("OK")


if __name__ == "__main__":
    main()
