"""All ORM models. Import every model module here so Alembic and tests see them."""

from db.base import Base
from db.models.activity import ActivityEvent
from db.models.announcements import Broadcast, DeliveryPause, Event, EventSignup, OutboxMessage, Subscription
from db.models.catalogue import PendingImport, Program
from db.models.faq import FaqHandoff, FaqQuestion
from db.models.notices import Notice
from db.models.outreach import OutreachActivity, OutreachAudit
from db.models.user import User

__all__ = [
    "ActivityEvent",
    "Base",
    "Broadcast",
    "DeliveryPause",
    "Event",
    "EventSignup",
    "FaqHandoff",
    "FaqQuestion",
    "Notice",
    "OutboxMessage",
    "OutreachActivity",
    "OutreachAudit",
    "PendingImport",
    "Program",
    "Subscription",
    "User",
]
