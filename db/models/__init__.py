"""All ORM models. Import every model module here so Alembic and tests see them."""

from db.base import Base
from db.models.activity import ActivityEvent
from db.models.user import User

__all__ = ["ActivityEvent", "Base", "User"]
from db.models.faq import FaqHandoff, FaqQuestion

__all__ += ["FaqHandoff", "FaqQuestion"]
