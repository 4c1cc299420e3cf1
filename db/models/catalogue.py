"""The program catalogue: programs imported from the Navigator, and imports awaiting confirmation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow

# Covers the usual search (municipality, direction, age, keywords, districts of the results).
_SEARCH_INDEX = ("municipality_id", "direction", "age_from", "age_to", "title", "district", "search_text")


class Program(Base):
    """One program of additional education (кружок, секция), keyed by its Navigator id."""

    __tablename__ = "programs"
    __table_args__ = (
        # Answers the usual search without reading the table.
        Index("ix_programs_search", *_SEARCH_INDEX),
        Index("ix_programs_direction_ages", "direction", "age_from", "age_to"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(32), unique=True)
    municipality_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    # Direction.code: tech, sci, sport, art, tour, soc
    direction: Mapped[str] = mapped_column(String(8))
    age_from: Mapped[int] = mapped_column(Integer)
    age_to: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    # The part of the municipality (район, округ, микрорайон) as the file names it; "" when unknown.
    district: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # очно | дистанционно | смешанно, stored as och | dist | mix
    form: Mapped[str] = mapped_column(String(8), default="och")
    # free | cert | paid
    funding: Mapped[str] = mapped_column(String(8), default="free")
    price: Mapped[int | None] = mapped_column(Integer)
    ovz: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(Text, default="")
    schedule: Mapped[str] = mapped_column(String(300), default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    # Lowercased title and description (ё→е, at most 700 characters) that keyword search scans.
    search_text: Mapped[str] = mapped_column(String(720), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PendingImport(Base):
    """A staff member's parsed import, kept until they press «Применить» or «Отмена»."""

    __tablename__ = "catalogue_pending_imports"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    file_name: Mapped[str] = mapped_column(String(200), default="")
    # The validated rows (list of program dicts) to apply.
    payload: Mapped[str] = mapped_column(Text)
