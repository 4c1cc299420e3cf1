"""Composing broadcasts: checks, recording, cancelling. Delivery is the worker's (`delivery`,
bot/workers/broadcasts.py).

`BroadcastService.create` records the broadcast in one short unit of work and returns;
the delivery worker picks the row up when it is due. Whether Telegram accepts the text
as HTML is checked where the text is shown, `bot.views.announcements.check_text`
(services know no HTML): the handler checks it before it calls `create`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Settings
from db.base import utcnow
from db.repositories.announcements import BroadcastRecord, BroadcastRepo, Target
from db.uow import Database

__all__ = [
    "ACTIVE",
    "MAX_PHOTO_BYTES",
    "BroadcastCreated",
    "BroadcastDraft",
    "BroadcastRecord",
    "BroadcastRefused",
    "BroadcastService",
    "Problem",
    "check_photo",
    "check_time",
    "parse_local_time",
]

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
ACTIVE = ("scheduled", "running")


@dataclass(frozen=True)
class Problem:
    """Why a broadcast is refused: `key` names the text for staff (content/texts/staff.yaml)
    with its `params`; `en` says it for the CLI operator."""

    key: str
    en: str
    params: Mapping[str, object] = field(default_factory=dict)


class BroadcastRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.en for p in problems))


def check_photo(data: bytes) -> list[Problem]:
    """The bytes must be a JPEG, PNG or WEBP image Telegram accepts as a photo."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        return [Problem("broadcast.photo_too_big", "the photo is larger than 10 MB")]
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            fmt = image.format or ""
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return [Problem("broadcast.photo_not_image", "the file is not an image")]
    if fmt not in PHOTO_FORMATS:
        return [Problem("broadcast.photo_format", f"image format {fmt} is not supported", {"format": fmt})]
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        return [Problem("broadcast.photo_dimensions", "bad photo dimensions")]
    return []


def check_time(when: datetime, now: datetime | None = None) -> list[Problem]:
    now = now or utcnow()
    if when <= now:
        return [Problem("broadcast.time_past", "the time is in the past")]
    if when > now + timedelta(days=366):
        return [Problem("broadcast.time_too_far", "the time is more than a year ahead")]
    return []


def parse_local_time(text: str, tz: ZoneInfo) -> datetime:
    """«25.08.2026 18:30» or «2026-08-25 18:30» in the local zone → aware UTC; ValueError.

    The strict form of before; staff dialogs and the CLI read times with `bot.services.when`."""
    text = " ".join(text.split())
    for fmt in ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%y %H:%M"):
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))
    raise ValueError(text)


@dataclass(frozen=True)
class BroadcastDraft:
    text: str  # Telegram HTML, already checked by the caller (bot.views.announcements.check_text)
    target: Target
    created_by: int | None
    scheduled_at: datetime | None = None  # None: now
    photo_file_id: str | None = None
    photo_data: bytes | None = None
    progress_chat_id: int | None = None  # where the worker shows the progress


@dataclass(frozen=True)
class BroadcastCreated:
    id: int
    number: int  # among broadcasts: what staff see («Рассылка №3»)
    scheduled_at: datetime
    recipients: int  # reached by the segment when it was recorded


class BroadcastService:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    async def count_recipients(self, target: Target) -> int:
        async with self.database.read() as uow:
            ids = await uow.repo(BroadcastRepo).recipients(target)
        return len(ids)

    async def create(self, draft: BroadcastDraft, *, now: datetime | None = None) -> BroadcastCreated:
        """Check the photo, the time and the segment, then record the broadcast for the worker;
        BroadcastRefused with every problem found."""
        now = now or utcnow()
        problems: list[Problem] = []
        if not draft.text.strip():
            problems.append(Problem("broadcast.text_empty", "the text is empty"))
        if draft.photo_data is not None:
            problems += check_photo(draft.photo_data)
        if draft.scheduled_at is not None:
            problems += check_time(draft.scheduled_at, now)
        if problems:
            raise BroadcastRefused(problems)
        count = await self.count_recipients(draft.target)  # read outside the write turn: it may be long
        if not count:
            raise BroadcastRefused([Problem("broadcast.segment_empty", "the segment has no recipients")])
        async with self.database.write() as uow:
            broadcast = await uow.repo(BroadcastRepo).add(
                kind="broadcast",
                text=draft.text,
                target=draft.target,
                scheduled_at=draft.scheduled_at or now,
                created_by=draft.created_by,
                now=now,
                photo_file_id=draft.photo_file_id,
                photo_data=draft.photo_data,
                progress_chat_id=draft.progress_chat_id,
            )
        return BroadcastCreated(broadcast.id, broadcast.shown_number, broadcast.scheduled_at, count)

    async def show_progress_in(self, broadcast_id: int, chat_id: int, message_id: int) -> bool:
        """The worker edits this message with the progress; False when it has already chosen one
        (it may start a broadcast before the staff member's confirmation was sent)."""
        async with self.database.write() as uow:
            changed = await uow.repo(BroadcastRepo).set_progress_message(broadcast_id, chat_id, message_id)
        return changed

    async def cancel(self, broadcast_id: int) -> BroadcastRecord | None:
        """Stop a scheduled or running broadcast; None when it is finished, cancelled or unknown."""
        async with self.database.write() as uow:
            cancelled = await uow.repo(BroadcastRepo).cancel(broadcast_id, utcnow())
        return cancelled

    async def active(self) -> list[BroadcastRecord]:
        """Broadcasts scheduled or being sent, soonest first."""
        async with self.database.read() as uow:
            items = await uow.repo(BroadcastRepo).active()
        return items
