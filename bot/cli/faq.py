"""`mocbot ask`: the FAQ matcher from the command line (evaluation, scripts)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from bot.cli.core import CliError, load_settings
from bot.content import ContentError, load_content
from bot.services.faq.engine import build_matcher, knowledge_base
from bot.services.faq.matcher import Matcher


def _matcher(args: argparse.Namespace) -> Matcher:
    settings = load_settings()
    directory = args.content or settings.content_dir
    try:
        content = load_content(directory, settings.default_municipality)
    except ContentError as exc:
        raise CliError(f"invalid content in {directory}:\n{exc}") from None
    return build_matcher(knowledge_base(content))


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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    p = sub.add_parser(
        "ask",
        help="match a question against the FAQ (no question: read one per line from stdin)",
    )
    p.add_argument("question", nargs="*", help="the question; omit to read questions from stdin")
    p.add_argument("--json", action="store_true", help="print one JSON object per question")
    p.add_argument("--content", type=Path, default=None, help="content folder (default: CONTENT_DIR)")
    p.set_defaults(handler=cmd_ask)
