"""How an internal id tells its channel, for the data layer (bot/channels says why).

Telegram ids are below 2**52 and stored as they are; a MAX person's internal id is
`MAX_ID_BASE + MAX user id`. Rows that name a person carry `channel` too, set from the
id when they are inserted, so a row keeps its channel after /forget re-keys it to an
anonymous (negative) id.
"""

from __future__ import annotations

from typing import Any, overload

TELEGRAM = "tg"
MAX = "max"
MAX_ID_BASE = 2**53


@overload
def channel_code(internal_id: int) -> str: ...
@overload
def channel_code(internal_id: None) -> None: ...
def channel_code(internal_id: int | None) -> str | None:
    """'tg' or 'max' for a person's (or private chat's) internal id; None for no id."""
    if internal_id is None:
        return None
    return MAX if internal_id >= MAX_ID_BASE else TELEGRAM


def external_of(internal_id: int) -> int:
    return internal_id - MAX_ID_BASE if internal_id >= MAX_ID_BASE else internal_id


def channel_default(column: str) -> Any:
    """A column default that reads the channel off the row's `column` at insert time."""

    def default(context: Any) -> str | None:
        value = context.get_current_parameters().get(column)
        return None if value is None else channel_code(int(value))

    return default


def external_default(column: str) -> Any:
    def default(context: Any) -> int | None:
        value = context.get_current_parameters().get(column)
        return None if value is None else external_of(int(value))

    return default
