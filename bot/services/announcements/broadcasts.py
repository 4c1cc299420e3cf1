"""Composing broadcasts: validation, recording, cancelling. Delivery is in `delivery`."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.html import CAPTION_LIMIT, MESSAGE_LIMIT, escape, html_errors, visible_length
from bot.services.announcements.subscriptions import Target, recipients
from db.base import utcnow
from db.models import Broadcast, OutboxMessage

MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
ACTIVE = ("scheduled", "running")


@dataclass(frozen=True)
class Problem:
    """Why a broadcast is refused: `ru` for staff in Telegram, `en` for the CLI operator."""

    ru: str
    en: str


class BroadcastRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.en for p in problems))

    @property
    def ru(self) -> str:
        return "\n".join(f"• {p.ru}" for p in self.problems)


def check_text(text: str, with_photo: bool) -> list[Problem]:
    problems: list[Problem] = []
    if not text.strip():
        return [Problem("Текст рассылки пустой.", "the text is empty")]
    errors = html_errors(text)
    if errors:
        problems.append(
            Problem(
                "Telegram не примет разметку HTML: "
                + escape("; ".join(html_errors(text, russian=True)[:3]))
                + ".",
                "Telegram would refuse the HTML: " + "; ".join(errors[:3]),
            )
        )
    limit = CAPTION_LIMIT if with_photo else MESSAGE_LIMIT
    length = visible_length(text) if not errors else len(text)
    if length > limit:
        what_ru = "подписи к фото" if with_photo else "сообщения"
        what_en = "a photo caption" if with_photo else "a message"
        problems.append(
            Problem(
                f"Текст длиннее {limit} символов ({length}) — предел {what_ru} в Telegram. Сократите.",
                f"the text has {length} characters; {what_en} allows {limit}",
            )
        )
    return problems


def check_photo(data: bytes) -> list[Problem]:
    """The bytes must be a JPEG, PNG or WEBP image Telegram accepts as a photo."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        return [Problem("Фото больше 10 МБ — Telegram его не примет.", "the photo is larger than 10 MB")]
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            fmt = image.format or ""
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return [
            Problem("Файл не является изображением (нужен JPEG, PNG или WEBP).", "the file is not an image")
        ]
    if fmt not in PHOTO_FORMATS:
        return [
            Problem(
                f"Формат {fmt} не подходит: нужен JPEG, PNG или WEBP.", f"image format {fmt} is not supported"
            )
        ]
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        return [
            Problem(
                "Размеры фото не подходят Telegram (слишком большое или вытянутое).", "bad photo dimensions"
            )
        ]
    return []


def check_time(when: datetime, now: datetime | None = None) -> list[Problem]:
    now = now or utcnow()
    if when <= now:
        return [Problem("Это время уже прошло. Укажите время в будущем.", "the time is in the past")]
    if when > now + timedelta(days=366):
        return [
            Problem("Запланировать можно не дальше чем на год вперёд.", "the time is more than a year ahead")
        ]
    return []


def parse_local_time(text: str, tz: ZoneInfo) -> datetime:
    """«25.08.2026 18:30» or «2026-08-25 18:30» in the local zone → aware UTC; ValueError."""
    text = " ".join(text.split())
    for fmt in ("%d.%m.%Y %H:%M", "%Y-%m-%d %H:%M", "%d.%m.%y %H:%M"):
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=tz).astimezone(ZoneInfo("UTC"))
    raise ValueError(text)


async def create_broadcast(
    session: AsyncSession,
    *,
    text: str,
    target: Target,
    created_by: int | None,
    scheduled_at: datetime | None = None,
    photo_file_id: str | None = None,
    photo_data: bytes | None = None,
    progress_chat_id: int | None = None,
    progress_message_id: int | None = None,
    now: datetime | None = None,
) -> Broadcast:
    """Validate everything, then record the broadcast for the worker; raises BroadcastRefused."""
    now = now or utcnow()
    with_photo = photo_file_id is not None or photo_data is not None
    problems = check_text(text, with_photo)
    if photo_data is not None:
        problems += check_photo(photo_data)
    if scheduled_at is not None:
        problems += check_time(scheduled_at, now)
    if not problems and not await recipients(session, target):
        problems.append(
            Problem(
                "В этом сегменте нет ни одного получателя. Выберите другой.",
                "the segment has no recipients",
            )
        )
    if problems:
        raise BroadcastRefused(problems)
    broadcast = Broadcast(
        kind="broadcast",
        status="scheduled",
        text=text,
        photo_file_id=photo_file_id,
        photo_data=photo_data,
        target=target.to_json(),
        event_id=target.event_id,
        scheduled_at=scheduled_at or now,
        created_by=created_by,
        created_at=now,
        total=0,
        progress_chat_id=progress_chat_id,
        progress_message_id=progress_message_id,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def cancel_broadcast(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """Stop a scheduled or running broadcast; None when there is none such.

    Messages not yet sent are cancelled; those in flight finish, and the worker
    then writes the final summary.
    """
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None or broadcast.kind != "broadcast" or broadcast.status not in ACTIVE:
        return None
    was_scheduled = broadcast.status == "scheduled"
    result = await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(ACTIVE))
        .values(status="cancelled", finished_at=utcnow() if was_scheduled else None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.state == "pending")
        .values(state="cancelled", updated_at=utcnow())
    )
    await session.refresh(broadcast)
    return broadcast


async def active_broadcasts(session: AsyncSession) -> list[Broadcast]:
    rows = await session.scalars(
        select(Broadcast)
        .where(Broadcast.kind == "broadcast", Broadcast.status.in_(ACTIVE))
        .order_by(Broadcast.scheduled_at, Broadcast.id)
    )
    return list(rows)


async def state_counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.state, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.state)
    )
    return {str(state): int(n) for state, n in rows}
