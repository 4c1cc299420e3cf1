"""`mocbot broadcast`: record a broadcast from the command line; the running bot delivers it."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.cli.core import CliError, content_or_fail, load_settings
from bot.settings import Settings


def cmd_broadcast(args: argparse.Namespace) -> int:
    from bot.directions import parse_direction
    from bot.services.announcements.subscriptions import MAX_AGE, MIN_AGE, Target
    from bot.services.when import WhenError, parse_moment

    settings = load_settings()
    directions: list[str] = []
    for raw in args.direction or []:
        direction = parse_direction(raw)
        if direction is None:
            raise CliError(f"unknown direction {raw!r} (use one of the six, e.g. 'техническая' or 'tech')")
        directions.append(direction.code)
    ages: list[int] = []
    for age in args.age or []:
        if not MIN_AGE <= age <= MAX_AGE:
            raise CliError(f"age {age} is outside {MIN_AGE}..{MAX_AGE}")
        ages.append(age)
    if args.municipality:
        content = content_or_fail(settings)
        if args.municipality not in content.municipalities:
            known = ", ".join(content.municipalities)
            raise CliError(f"unknown municipality {args.municipality!r} (known: {known})")
    when = None
    if args.at:
        try:
            when = parse_moment(args.at, settings.tz)
        except WhenError as exc:
            raise CliError(
                f"--at {args.at!r}: {exc.en} (a local time in {settings.timezone}, "
                'e.g. "2026-12-05 15:00" or "5 декабря в 15:00")'
            ) from None
    photo: bytes | None = None
    if args.photo:
        path = Path(args.photo)
        if not path.is_file():
            raise CliError(f"photo file not found: {path}")
        photo = path.read_bytes()
    text = Path(args.text_file).read_text(encoding="utf-8") if args.text_file else args.text
    if text is None:
        raise CliError("give the message with --text TEXT or --text-file FILE")
    target = Target(directions=tuple(directions), ages=tuple(ages), municipality=args.municipality)
    broadcast_id, count = asyncio.run(_record(settings, text, target, photo, when))
    local = (
        (when.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") + f" {settings.timezone}") if when else "now"
    )
    print(
        f"broadcast {broadcast_id} recorded for {count} recipient(s), to be sent {local}; "
        "the running bot delivers it and reports progress in STAFF_CHAT_ID"
    )
    return 0


async def _record(
    settings: Settings, text: str, target: object, photo: bytes | None, when: object
) -> tuple[int, int]:
    from datetime import datetime

    from bot.services.announcements.broadcasts import BroadcastDraft, BroadcastRefused, BroadcastService
    from bot.services.announcements.subscriptions import Target
    from bot.views.announcements import check_text
    from db.engine import create_engine
    from db.migrate import upgrade_async
    from db.uow import Database

    assert isinstance(target, Target)
    assert when is None or isinstance(when, datetime)
    problems = check_text(text, with_photo=photo is not None)  # what Telegram would refuse as HTML
    if problems:
        raise CliError("broadcast refused: " + "; ".join(p.en for p in problems))
    await upgrade_async(settings.database_url)
    database = Database(create_engine(settings.database_url))
    try:
        service = BroadcastService(database, settings)
        draft = BroadcastDraft(text=text, target=target, created_by=None, scheduled_at=when, photo_data=photo)
        try:
            created = await service.create(draft)
        except BroadcastRefused as exc:
            raise CliError("broadcast refused: " + "; ".join(p.en for p in exc.problems)) from None
        return created.id, created.recipients
    finally:
        await database.dispose()


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "broadcast",
        help="record a broadcast to subscribers (the running bot sends it)",
        description="Record a broadcast; the running bot delivers it at TELEGRAM_RATE and reports to staff.",
    )
    p.add_argument("--text", help="message in Telegram HTML (<b>, <i>, <a href=...>)")
    p.add_argument("--text-file", help="read the message from this UTF-8 file instead")
    p.add_argument(
        "--photo", help="JPEG/PNG/WEBP file sent with the text as its caption (<= 1024 characters)"
    )
    p.add_argument(
        "--direction", action="append", help="only subscribers of this направленность (repeatable)"
    )
    p.add_argument(
        "--age", type=int, action="append", help="only parents with a child of this age (repeatable)"
    )
    p.add_argument("--municipality", help="only users of this municipality id (content/municipalities.yaml)")
    p.add_argument(
        "--at",
        help='local time (TIMEZONE): "2026-12-05 15:00", "05.12.2026 15:00", "завтра в 10"; default: now',
    )
    p.set_defaults(handler=cmd_broadcast)
