"""Subscriptions and a parent's settings: announcements on or off, направленности, children's
ages, the municipality.

Each method of `SubscriptionService` is one short unit of work that commits before it
returns; the handler speaks only afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.content import Content
from bot.directions import Direction
from bot.services.users import UserRecord
from bot.settings import Settings
from db.base import utcnow
from db.repositories.activity import ActivityRepo, Kind
from db.repositories.announcements import SubscriptionRecord, SubscriptionRepo, Target
from db.repositories.users import UserRepo, today_utc
from db.uow import Database

__all__ = [
    "MAX_AGE",
    "MAX_CHILDREN",
    "MIN_AGE",
    "AgesError",
    "PersonalSettings",
    "SubscriptionChange",
    "SubscriptionService",
    "SubscriptionState",
    "Target",
    "parse_ages",
]

# Children's ages a parent may save: what the catalogue holds (programs from age 3; the
# certificate's own range is a municipality setting and matters only when paying with it).
MIN_AGE = 3
MAX_AGE = 18
MAX_CHILDREN = 8


class AgesError(ValueError):
    """Typed ages that cannot be taken; `key` and `params` name the text that says why
    (content/texts/announcements.yaml); str() is the English reason for logs."""

    def __init__(self, key: str, reason: str, **params: object) -> None:
        super().__init__(reason)
        self.key = key
        self.params = params

    def text(self, content: Content, municipality_id: str | None = None) -> str:
        """The Russian text for a person (plain: escape it for HTML)."""
        return content.text(self.key, municipality_id, **self.params)


@dataclass(frozen=True)
class SubscriptionState:
    active: bool = False
    directions: tuple[str, ...] = ()  # Direction codes in Direction order; empty: all

    @classmethod
    def of(cls, record: SubscriptionRecord | None) -> SubscriptionState:
        return cls(record.active, record.directions) if record is not None else cls()


@dataclass(frozen=True)
class PersonalSettings:
    """What the settings screen shows: the person and their subscription."""

    user: UserRecord
    subscription: SubscriptionState


@dataclass(frozen=True)
class SubscriptionChange:
    changed: bool  # False: it already was so
    settings: PersonalSettings


_YEARS = {"лет", "года", "год", "годам", "годика", "г"}


def parse_ages(text: str) -> list[int]:
    """Children's ages from «7, 12» / «7 и 12» / «7 лет и 12»; AgesError says why not."""
    cleaned = text.lower().replace(",", " ").replace(";", " ").replace(" и ", " ")
    parts = [p for p in cleaned.split() if p]
    ages: list[int] = []
    for part in parts:
        word = part.rstrip(".")
        if word in _YEARS:
            continue
        if not word.isdigit() or len(word) > 3:
            raise AgesError("ages.not_number", f"{part[:20]!r} is not a number", word=part[:20])
        age = int(word)
        if not MIN_AGE <= age <= MAX_AGE:
            raise AgesError(
                "ages.out_of_range", f"age {age} is outside {MIN_AGE}..{MAX_AGE}",
                age=age, low=MIN_AGE, high=MAX_AGE,
            )  # fmt: skip
        ages.append(age)
    if not ages:
        raise AgesError("ages.empty", "no age given")
    if len(ages) > MAX_CHILDREN:
        raise AgesError("ages.too_many", f"more than {MAX_CHILDREN} ages", count=MAX_CHILDREN)
    return sorted(ages)


class SubscriptionService:
    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings

    async def state(self, user_id: int) -> SubscriptionState:
        async with self.database.read() as uow:
            record = await uow.repo(SubscriptionRepo).get(user_id)
        return SubscriptionState.of(record)

    async def settings_of(self, user: UserRecord) -> PersonalSettings:
        """The settings screen of `user` (read only)."""
        return PersonalSettings(user, await self.state(user.id))

    async def subscribe(self, user: UserRecord) -> SubscriptionChange:
        """Turn announcements on (the filters are kept)."""
        return await self._switch(user, True)

    async def unsubscribe(self, user: UserRecord) -> SubscriptionChange:
        """Turn announcements off (the filters are kept)."""
        return await self._switch(user, False)

    async def _switch(self, user: UserRecord, active: bool) -> SubscriptionChange:
        async with self.database.write() as uow:
            repo = uow.repo(SubscriptionRepo)
            changed = await repo.set_active(user.id, active, utcnow())
            if changed:
                await uow.repo(ActivityRepo).record(
                    Kind.SUBSCRIBED if active else Kind.UNSUBSCRIBED,
                    user_id=user.id,
                    municipality_id=user.municipality_id,
                )
            state = SubscriptionState.of(await repo.get(user.id))
        return SubscriptionChange(changed, PersonalSettings(user, state))

    async def toggle_direction(self, user_id: int, direction: Direction) -> SubscriptionState:
        """Add the направленность to the filter, or take it out if it was there."""
        async with self.database.write() as uow:
            repo = uow.repo(SubscriptionRepo)
            current = await repo.get(user_id)
            codes = set(current.directions) if current is not None else set()
            codes ^= {direction.code}
            await repo.set_directions(user_id, [d.code for d in Direction if d.code in codes], utcnow())
            state = SubscriptionState.of(await repo.get(user_id))
        return state

    async def set_child_ages(self, user_id: int, ages: list[int]) -> PersonalSettings:
        """Children's ages (an empty list clears them); the settings as they are now."""
        async with self.database.write() as uow:
            users = uow.repo(UserRepo)
            await users.set_child_ages(user_id, sorted(ages), today_utc())  # the age counts from today
            settings = await self._settings(users, uow.repo(SubscriptionRepo), user_id)
        return settings

    async def choose_municipality(self, user_id: int, municipality_id: str) -> PersonalSettings:
        """The municipality (the caller checks it exists in the content)."""
        async with self.database.write() as uow:
            users = uow.repo(UserRepo)
            await users.set_municipality(user_id, municipality_id)
            settings = await self._settings(users, uow.repo(SubscriptionRepo), user_id)
        return settings

    @staticmethod
    async def _settings(users: UserRepo, subscriptions: SubscriptionRepo, user_id: int) -> PersonalSettings:
        user = await users.get(user_id)
        assert user is not None  # just written
        return PersonalSettings(user, SubscriptionState.of(await subscriptions.get(user_id)))
