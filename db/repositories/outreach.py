"""The outreach log and the annual report's figures.

The only code that queries `outreach_activities` and `outreach_audit`, and the
aggregations of `activity_events` the report runs. Takes the unit of work's
session, never commits, returns frozen records or plain values.

Every change of the log leaves its row in the audit trail: `create`, `update` and
`delete` write the activity and its audit row together, so no caller can forget one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, Self

from sqlalchemy import ColumnElement, case, delete, extract, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import ActivityEvent, OutreachActivity, OutreachAudit

# The stored fields of an activity, in the order of its audit snapshot.
FIELDS = ("held_on", "title", "kind", "audience", "reached", "organisation", "directions", "format",
          "municipality_id")  # fmt: skip


@dataclass(frozen=True)
class ActivityData:
    """The fields of one activity as staff described it (checked by the service)."""

    held_on: date
    title: str
    kind: str
    audience: str
    reached: int
    municipality_id: str
    organisation: str | None = None
    directions: tuple[str, ...] = ()
    format: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready values, as the audit trail and the dialog state keep them."""
        return {
            "held_on": self.held_on.isoformat(),
            "title": self.title,
            "kind": self.kind,
            "audience": self.audience,
            "reached": self.reached,
            "organisation": self.organisation,
            "directions": list(self.directions),
            "format": self.format,
            "municipality_id": self.municipality_id,
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Self:
        return cls(
            held_on=date.fromisoformat(data["held_on"]),
            title=data["title"],
            kind=data["kind"],
            audience=data["audience"],
            reached=int(data["reached"]),
            municipality_id=data["municipality_id"],
            organisation=data.get("organisation"),
            directions=tuple(data.get("directions") or ()),
            format=data.get("format"),
        )

    @classmethod
    def from_data(cls, other: ActivityData) -> Self:
        """The fields of `other` (a stored record, say) as this class."""
        return cls(**{name: getattr(other, name) for name in FIELDS})


@dataclass(frozen=True, kw_only=True)
class ActivityRecord(ActivityData):
    """A stored activity."""

    id: int
    logged_by: int | None = None  # the staff member's Telegram id; None from the CLI or an import
    source: str = "bot"  # "bot" | "cli" | "import"


@dataclass(frozen=True)
class AuditRecord:
    id: int
    activity_id: int
    action: str  # create | update | delete
    actor_id: int | None
    source: str
    at: datetime
    old: dict[str, Any] | None
    new: dict[str, Any] | None


@dataclass(frozen=True)
class Figures:
    events: int
    reached: int


@dataclass(frozen=True)
class ChannelReach:
    """People the bot served and questions they asked, in one channel or in all."""

    people: int  # distinct people with any recorded action
    questions: int  # FAQ questions without greetings and thanks
    askers: int  # distinct people who wrote a question (greetings included, as the consultations count)


@dataclass(frozen=True)
class KindCount:
    events: int
    people: int  # distinct users


class Window(Protocol):
    """The instants [start, end) of a report, and its municipality (None: the whole region)."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...

    @property
    def municipality_id(self) -> str | None: ...


_ACTIVITY_COLUMNS = (
    OutreachActivity.id,
    OutreachActivity.held_on,
    OutreachActivity.title,
    OutreachActivity.kind,
    OutreachActivity.audience,
    OutreachActivity.reached,
    OutreachActivity.organisation,
    OutreachActivity.directions,
    OutreachActivity.format,
    OutreachActivity.municipality_id,
    OutreachActivity.logged_by,
    OutreachActivity.source,
)


def _record(row: Any) -> ActivityRecord:
    return ActivityRecord(
        id=row.id,
        held_on=row.held_on,
        title=row.title,
        kind=row.kind,
        audience=row.audience,
        reached=row.reached,
        municipality_id=row.municipality_id,
        organisation=row.organisation,
        directions=tuple(row.directions or ()),
        format=row.format,
        logged_by=row.logged_by,
        source=row.source,
    )


def _columns(data: ActivityData) -> dict[str, Any]:
    return {name: list(data.directions) if name == "directions" else getattr(data, name) for name in FIELDS}


class OutreachRepo:
    """Staff-logged activities and their audit trail."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the log ---------------------------------------------------------------------

    async def get(self, activity_id: int, *, for_update: bool = False) -> ActivityRecord | None:
        """One activity; `for_update` locks its row until the unit ends (PostgreSQL)."""
        query = select(*_ACTIVITY_COLUMNS).where(OutreachActivity.id == activity_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).one_or_none()
        return _record(row) if row is not None else None

    async def create(
        self, data: ActivityData, *, logged_by: int | None, source: str, at: datetime
    ) -> ActivityRecord:
        activity = OutreachActivity(
            **_columns(data), logged_by=logged_by, source=source, created_at=at, updated_at=at
        )
        self.session.add(activity)
        await self.session.flush()
        activity_id = activity.id
        self._audit(activity_id, "create", logged_by, source, at=at, old=None, new=data.snapshot())
        return ActivityRecord(
            **{name: getattr(data, name) for name in FIELDS},
            id=activity_id,
            logged_by=logged_by,
            source=source,
        )

    async def update(
        self, current: ActivityRecord, new: ActivityData, *, actor_id: int | None, source: str, at: datetime
    ) -> bool:
        """Store `new` over `current`; False (and no audit row) when no value differs."""
        old_values, new_values = current.snapshot(), new.snapshot()
        if old_values == new_values:
            return False
        await self.session.execute(
            update(OutreachActivity)
            .where(OutreachActivity.id == current.id)
            .values(**_columns(new), updated_at=at)
        )
        changed_old = {k: v for k, v in old_values.items() if new_values[k] != v}
        changed_new = {k: v for k, v in new_values.items() if old_values[k] != v}
        self._audit(current.id, "update", actor_id, source, at=at, old=changed_old, new=changed_new)
        return True

    async def delete(
        self, current: ActivityRecord, *, actor_id: int | None, source: str, at: datetime
    ) -> None:
        self._audit(current.id, "delete", actor_id, source, at=at, old=current.snapshot(), new=None)
        await self.session.execute(delete(OutreachActivity).where(OutreachActivity.id == current.id))

    def _audit(self, activity_id: int, action: str, actor_id: int | None, source: str, **values: Any) -> None:
        """One audit row: `at`, and the `old` and `new` snapshots (of the changed fields)."""
        self.session.add(
            OutreachAudit(activity_id=activity_id, action=action, actor_id=actor_id, source=source, **values)
        )

    async def recent(self, logged_by: int | None, limit: int) -> list[ActivityRecord]:
        """The newest entries of one staff member, or of everybody (`logged_by` None)."""
        query = select(*_ACTIVITY_COLUMNS).order_by(OutreachActivity.id.desc()).limit(limit)
        if logged_by is not None:
            query = query.where(OutreachActivity.logged_by == logged_by)
        return [_record(r) for r in await self.session.execute(query)]

    async def keys_between(self, first: date, last: date) -> list[tuple[int, date, str, str, str]]:
        """(id, held_on, title, audience, municipality_id) of the entries held in [first, last]."""
        rows = await self.session.execute(
            select(
                OutreachActivity.id,
                OutreachActivity.held_on,
                OutreachActivity.title,
                OutreachActivity.audience,
                OutreachActivity.municipality_id,
            ).where(OutreachActivity.held_on >= first, OutreachActivity.held_on <= last)
        )
        return [(i, d, t, a, m) for i, d, t, a, m in rows]

    async def audit_trail(self, activity_id: int) -> list[AuditRecord]:
        rows = await self.session.scalars(
            select(OutreachAudit).where(OutreachAudit.activity_id == activity_id).order_by(OutreachAudit.id)
        )
        return [
            AuditRecord(a.id, a.activity_id, a.action, a.actor_id, a.source, a.at, a.old, a.new) for a in rows
        ]

    # --- the person (/mydata, /forget) -----------------------------------------------------

    async def count_logged_by(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(OutreachActivity).where(OutreachActivity.logged_by == user_id)
        )
        return int(count or 0)

    async def count_changes_by(self, user_id: int) -> int:
        count = await self.session.scalar(
            select(func.count()).select_from(OutreachAudit).where(OutreachAudit.actor_id == user_id)
        )
        return int(count or 0)

    async def rekey_person(self, user_id: int, anonymous_id: int) -> None:
        """The entries and audit rows of `user_id` carry `anonymous_id` instead (figures stay)."""
        await self.session.execute(
            update(OutreachActivity)
            .where(OutreachActivity.logged_by == user_id)
            .values(logged_by=anonymous_id)
        )
        await self.session.execute(
            update(OutreachAudit).where(OutreachAudit.actor_id == user_id).values(actor_id=anonymous_id)
        )

    # --- the report --------------------------------------------------------------------

    @staticmethod
    def _held(start: date, end: date, municipality_id: str | None) -> list[ColumnElement[bool]]:
        conditions = [OutreachActivity.held_on >= start, OutreachActivity.held_on <= end]
        if municipality_id is not None:
            conditions.append(OutreachActivity.municipality_id == municipality_id)
        return conditions

    async def by_audience(self, start: date, end: date, municipality_id: str | None) -> dict[str, Figures]:
        """Events and people reached per audience code, for activities held in [start, end]."""
        rows = await self.session.execute(
            select(
                OutreachActivity.audience, func.count(), func.coalesce(func.sum(OutreachActivity.reached), 0)
            )
            .where(*self._held(start, end, municipality_id))
            .group_by(OutreachActivity.audience)
        )
        return {audience: Figures(int(events), int(reached)) for audience, events, reached in rows}

    async def by_kind(self, start: date, end: date, municipality_id: str | None) -> dict[str, Figures]:
        rows = await self.session.execute(
            select(OutreachActivity.kind, func.count(), func.coalesce(func.sum(OutreachActivity.reached), 0))
            .where(*self._held(start, end, municipality_id))
            .group_by(OutreachActivity.kind)
        )
        return {kind: Figures(int(events), int(reached)) for kind, events, reached in rows}

    async def by_month_and_audience(
        self, start: date, end: date, municipality_id: str | None
    ) -> dict[tuple[int, int], dict[str, Figures]]:
        """{(year, month): {audience: figures}}."""
        year = extract("year", OutreachActivity.held_on)
        month = extract("month", OutreachActivity.held_on)
        rows = await self.session.execute(
            select(year, month, OutreachActivity.audience, func.count(), func.sum(OutreachActivity.reached))
            .where(*self._held(start, end, municipality_id))
            .group_by(year, month, OutreachActivity.audience)
        )
        cells: dict[tuple[int, int], dict[str, Figures]] = {}
        for y, m, audience, events, reached in rows:
            cells.setdefault((int(y), int(m)), {})[audience] = Figures(int(events), int(reached or 0))
        return cells

    async def held_between(self, start: date, end: date, municipality_id: str | None) -> list[ActivityRecord]:
        """The activities themselves, by date."""
        rows = await self.session.execute(
            select(*_ACTIVITY_COLUMNS)
            .where(*self._held(start, end, municipality_id))
            .order_by(OutreachActivity.held_on, OutreachActivity.id)
        )
        return [_record(r) for r in rows]


class ReportActivityRepo:
    """Aggregations of the bot's own activity log (`activity_events`) for the report.

    Every query reads the covering index `ix_activity_events_report` alone.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _where(window: Window, *kinds: str) -> list[ColumnElement[bool]]:
        conditions = [ActivityEvent.occurred_at >= window.start, ActivityEvent.occurred_at < window.end]
        if len(kinds) == 1:
            conditions.insert(0, ActivityEvent.kind == kinds[0])
        elif kinds:
            conditions.insert(0, ActivityEvent.kind.in_(kinds))
        if window.municipality_id is not None:
            conditions.append(ActivityEvent.municipality_id == window.municipality_id)
        return conditions

    async def by_kind(self, window: Window) -> dict[str, KindCount]:
        """Events and distinct people of every kind, by kind."""
        people = func.count(func.distinct(ActivityEvent.user_id))
        rows = await self.session.execute(
            select(ActivityEvent.kind, func.count(), people)
            # `kind >= ''` is always true; it lets SQLite answer from ix_activity_events_report alone.
            .where(ActivityEvent.kind >= "", *self._where(window))
            .group_by(ActivityEvent.kind)
        )
        return {kind: KindCount(int(n), int(p)) for kind, n, p in sorted(rows, key=lambda r: r[0])}

    async def reach_by_channel(self, window: Window) -> tuple[dict[str, ChannelReach], ChannelReach]:
        """Per channel ('tg', 'max') and in all: each figure counted, never summed, so a person
        is one person in the total however many rows they have."""
        is_question = ActivityEvent.kind == "faq.question"
        question = case(
            (is_question & (ActivityEvent.outcome.is_(None) | (ActivityEvent.outcome != "smalltalk")), 1),
            else_=0,
        )
        columns = (
            func.count(func.distinct(ActivityEvent.user_id)),
            func.coalesce(func.sum(question), 0),
            func.count(func.distinct(case((is_question, ActivityEvent.user_id)))),
        )
        where = (ActivityEvent.kind >= "", *self._where(window), ActivityEvent.user_id.is_not(None))
        rows = await self.session.execute(
            select(ActivityEvent.channel, *columns).where(*where).group_by(ActivityEvent.channel)
        )
        by_channel = {str(channel or "tg"): ChannelReach(int(p), int(q), int(a)) for channel, p, q, a in rows}
        total = (await self.session.execute(select(*columns).where(*where))).one()
        return by_channel, ChannelReach(int(total[0]), int(total[1]), int(total[2]))

    async def by_outcome_and_topic(
        self, window: Window, kind: str
    ) -> list[tuple[str | None, str | None, int]]:
        """(outcome, topic, events) groups of one kind."""
        rows = await self.session.execute(
            select(ActivityEvent.outcome, ActivityEvent.topic, func.count())
            .where(*self._where(window, kind))
            .group_by(ActivityEvent.outcome, ActivityEvent.topic)
        )
        return [(outcome, topic, int(n)) for outcome, topic, n in rows]

    async def median_value(self, window: Window, kind: str) -> float | None:
        """Median of `value` for a kind: count, then the middle one or two values by an ordered look-up."""
        count = await self.session.scalar(
            select(func.count(ActivityEvent.value)).where(*self._where(window, kind))
        )
        if not count:
            return None
        middle = await self.session.scalars(
            select(ActivityEvent.value)
            .where(*self._where(window, kind), ActivityEvent.value.is_not(None))
            .order_by(ActivityEvent.value)
            .offset((count - 1) // 2)
            .limit(2)
        )
        values = [float(v) for v in middle if v is not None]
        if not values:
            return None
        if count % 2 == 1 or len(values) == 1:
            return values[0]
        return (values[0] + values[1]) / 2

    async def by_topic_and_age(
        self, window: Window, kind: str
    ) -> list[tuple[str | None, int | None, int, int]]:
        """(topic, age, events, events with value 0) groups of one kind."""
        nothing_found = func.sum(case((ActivityEvent.value == 0, 1), else_=0))
        rows = await self.session.execute(
            select(ActivityEvent.topic, ActivityEvent.age, func.count(), nothing_found)
            .where(*self._where(window, kind))
            .group_by(ActivityEvent.topic, ActivityEvent.age)
        )
        return [(topic, None if age is None else int(age), int(n), int(z or 0)) for topic, age, n, z in rows]

    async def first_and_sum_by_ref(
        self, window: Window, kind: str
    ) -> list[tuple[str | None, datetime | None, int]]:
        """(ref, first occurrence, sum of values) per ref of one kind, oldest first."""
        rows = await self.session.execute(
            select(
                ActivityEvent.ref,
                func.min(ActivityEvent.occurred_at),
                func.coalesce(func.sum(ActivityEvent.value), 0),
            )
            .where(*self._where(window, kind))
            .group_by(ActivityEvent.ref)
            .order_by(func.min(ActivityEvent.occurred_at))
        )
        return [(ref, first, int(total or 0)) for ref, first, total in rows]

    async def people_by_ref(self, window: Window, kind: str) -> list[tuple[str | None, str | None, int, int]]:
        """(ref, a topic, events, distinct people) per ref of one kind, most events first."""
        people = func.count(func.distinct(ActivityEvent.user_id))
        rows = await self.session.execute(
            select(ActivityEvent.ref, func.max(ActivityEvent.topic), func.count(), people)
            .where(*self._where(window, kind))
            .group_by(ActivityEvent.ref)
            .order_by(func.count().desc())
        )
        return [(ref, topic, int(n), int(p)) for ref, topic, n, p in rows]

    async def count_by_ref(self, window: Window, kind: str) -> list[tuple[str | None, int]]:
        rows = await self.session.execute(
            select(ActivityEvent.ref, func.count())
            .where(*self._where(window, kind))
            .group_by(ActivityEvent.ref)
        )
        return [(ref, int(n)) for ref, n in rows]
