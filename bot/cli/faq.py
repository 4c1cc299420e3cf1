"""`mocbot ask`: the FAQ matcher from the command line (evaluation, scripts), and
`mocbot export-questions`: parents' real questions as an evaluation file to label."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import yaml

from bot.cli.core import CliError, content_or_fail, in_session, load_settings
from bot.services.faq.engine import build_matcher, knowledge_base
from bot.services.faq.matcher import Matcher

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def _matcher(args: argparse.Namespace) -> Matcher:
    return build_matcher(knowledge_base(content_or_fail(load_settings(), args.content)))


def _print(matcher: Matcher, question: str, as_json: bool, out: TextIO) -> None:
    result = matcher.match(question)
    if as_json:
        out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        return
    shown = ", ".join(f"{c.id} ({c.score:.2f})" for c in result.candidates) or "-"
    out.write(f"{result.decision}: {shown}\n")


def cmd_ask(args: argparse.Namespace) -> int:
    matcher = _matcher(args)
    if args.question:
        _print(matcher, " ".join(args.question), args.json, sys.stdout)
        return 0
    for line in sys.stdin:  # one question per line, one answer per line
        question = line.rstrip("\r\n")
        if question.strip():
            _print(matcher, question, args.json, sys.stdout)
            sys.stdout.flush()
    return 0


EXPORT_HEADER = """\
# Questions parents asked the bot from {since} to {until}, exported for labelling.
# For each item set `id` to the entry that answers it (null if it is not the bot's
# business), then `checked: true`. `bot` is what the bot decided when it was asked.
# Then: .venv/bin/python bench/faq_eval.py --eval THIS_FILE (unchecked items are skipped).
# Only the texts are exported, never who asked; keep the file off shared drives all the same.
"""


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option}: expected a date as YYYY-MM-DD, got {value!r}") from None


async def _asked(session: AsyncSession, since: date, until: date) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from db.models.faq import FaqQuestion

    start = datetime.combine(since, datetime.min.time(), UTC)
    end = datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC)
    rows = await session.execute(
        select(
            FaqQuestion.text,
            FaqQuestion.normalized,
            FaqQuestion.decision,
            FaqQuestion.matched_id,
            FaqQuestion.score,
        )
        .where(FaqQuestion.asked_at >= start, FaqQuestion.asked_at < end, FaqQuestion.text != "")
        .where(FaqQuestion.decision != "smalltalk")
        .order_by(FaqQuestion.asked_at, FaqQuestion.id)
    )
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for text, normalized, decision, matched_id, score in rows:
        if normalized in seen:  # the same question asked again adds nothing to label
            continue
        seen.add(normalized)
        answered = decision == "answer" and matched_id
        items.append(
            {
                "q": text,
                "id": matched_id if answered else None,
                "split": "holdout",
                "bot": f"{decision} {matched_id or '-'} {score:.2f}",
                "checked": False,
            }
        )
    return items


def cmd_export_questions(args: argparse.Namespace) -> int:
    today = datetime.now(UTC).date()
    since = _day(args.since, "--since")
    until = _day(args.until, "--until") if args.until else today
    if since > until:
        raise CliError(f"--since {since} is after --until {until}")
    settings = load_settings()
    items = asyncio.run(in_session(settings, lambda session: _asked(session, since, until)))
    body = yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False, width=1000)
    text = EXPORT_HEADER.format(since=since, until=until) + body
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"{len(items)} questions written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ask",
        help="match a question against the FAQ (no question: read one per line from stdin)",
    )
    p.add_argument("question", nargs="*", help="the question; omit to read questions from stdin")
    p.add_argument("--json", action="store_true", help="print one JSON object per question")
    p.add_argument("--content", type=Path, default=None, help="content folder (default: CONTENT_DIR)")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser(
        "export-questions",
        help="parents' questions of a period as an evaluation file to label (texts only)",
    )
    p.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--until", default=None, help="last day, YYYY-MM-DD (default: today)")
    p.add_argument("--out", type=Path, default=None, help="write here instead of standard output")
    p.set_defaults(handler=cmd_export_questions)
