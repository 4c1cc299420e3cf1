"""The `mocbot` command. Each feature adds its subcommands in its own module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable

from bot.cli import announcements, core, outreach
from bot.cli import faq as faq_cli
from bot.cli.catalogue import register as register_catalogue

# Each module has `register(subparsers)`; the order is the order in `mocbot --help`.
COMMAND_MODULES: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [
    core.register,
    faq_cli.register,
    register_catalogue,
    announcements.register,
    outreach.register,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mocbot",
        description="Telegram assistant for a МОЦ: FAQ, program search, announcements, outreach reports.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in COMMAND_MODULES:
        register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # plain `mocbot` runs the bot, like `mocbot run`
        args = parser.parse_args(["run"])
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130
    except core.CliError as exc:
        logging.getLogger("mocbot").debug("cli error", exc_info=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
