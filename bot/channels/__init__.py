"""The messengers a parent can reach the bot in, and how their ids become internal ids.

A person is one identity in one channel: (channel, external id). Everything stored
(users, subscriptions, questions, sign-ups, outbox rows, the activity log) is keyed by
the *internal* id, which is a pure function of the identity:

- **Telegram**: the internal id is the Telegram user id. The Bot API promises user ids
  of at most 52 significant bits, so they are all below 2**52; group and channel chats
  (the staff chat) are negative.
- **MAX**: the internal id is `MAX_ID_BASE + MAX user id`, so every MAX person lives at
  2**53 and above and can never equal a Telegram id. A MAX user 123 and a Telegram user
  123 are two people with two internal ids.

Being a function, the mapping needs no lookup on the hot path (an update in, a message
out) and stores nothing about a person before they consent; `users.channel` and
`users.external_id` record the identity of everyone who has a row. Anonymised rows of
/forget keep negative ids and their `channel` column.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from db.identity import MAX_ID_BASE, channel_code, external_of

__all__ = [
    "LIMITS",
    "MAX_ID_BASE",
    "Channel",
    "ForeignIdError",
    "Limits",
    "channel_of",
    "external_id",
    "internal_id",
]


class Channel(StrEnum):
    TELEGRAM = "tg"
    MAX = "max"

    @property
    def label(self) -> str:
        return "Telegram" if self is Channel.TELEGRAM else "MAX"


TELEGRAM_ID_LIMIT = 2**52  # Bot API: user ids have at most 52 significant bits
MAX_ID_LIMIT = 2**62  # internal ids stay inside a signed 64-bit column with room to spare


class ForeignIdError(ValueError):
    """An external id that cannot be mapped (out of the channel's range)."""


def internal_id(channel: Channel, external: int) -> int:
    """The internal id of a person (or a private chat) known to `channel` by `external`."""
    if channel is Channel.TELEGRAM:
        if external >= TELEGRAM_ID_LIMIT:
            raise ForeignIdError(f"Telegram id {external} is above 2**52")
        return external
    if not 0 < external < MAX_ID_LIMIT - MAX_ID_BASE:
        raise ForeignIdError(f"MAX user id {external} is outside 1..2**62-2**53")
    return MAX_ID_BASE + external


def channel_of(internal: int) -> Channel:
    """The channel a chat or person with this internal id is reached in.

    Negative ids are Telegram group chats (the staff chat)."""
    return Channel(channel_code(internal))


def external_id(internal: int) -> int:
    """The id the person's own messenger knows them by."""
    return external_of(internal)


@dataclass(frozen=True)
class Limits:
    """What a message must fit into in one channel (the renderer and the adapter respect it)."""

    text: int  # characters of one message's text
    caption: int  # characters of a caption under a photo or file
    rows: int  # keyboard rows
    per_row: int  # buttons in a row
    per_row_links: int  # buttons in a row that holds a link button
    data_bytes: int  # callback data / payload the bot uses


LIMITS: dict[Channel, Limits] = {
    # Telegram counts visible characters after entity parsing; 100 buttons in all.
    Channel.TELEGRAM: Limits(text=4096, caption=1024, rows=100, per_row=8, per_row_links=8, data_bytes=64),
    # MAX: NewMessageBody.text maxLength 4000 (counted here on the raw text, markup
    # included, the strictest reading); 30 rows x 7, 3 in a row with a link. The bot keeps
    # Telegram's 64 bytes of callback data in both (MAX allows 1,024).
    Channel.MAX: Limits(text=4000, caption=4000, rows=30, per_row=7, per_row_links=3, data_bytes=64),
}
