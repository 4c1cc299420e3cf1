"""Moved to `bot.views.announcements` (callback data and keyboards are presentation).

Kept only for `bot/services/announcements/delivery.py`; delete when it imports the views.
"""

from bot.views.announcements import (
    UNSUBSCRIBE_LABEL,
    BroadcastCD,
    EventCD,
    SetCD,
    SubCD,
    broadcast_cancel_keyboard,
    reminder_keyboard,
    unsubscribe_keyboard,
)

__all__ = [
    "UNSUBSCRIBE_LABEL",
    "BroadcastCD",
    "EventCD",
    "SetCD",
    "SubCD",
    "broadcast_cancel_keyboard",
    "reminder_keyboard",
    "unsubscribe_keyboard",
]
