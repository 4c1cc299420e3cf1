"""Children's ages stay true: kept as the age with the day it was given, counted on when used
(/settings, /mydata, the 👶 buttons of the search, age-targeted broadcasts), and the migration
that turned the stored numbers into dated ages."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.services.announcements.subscriptions import Target
from db import migrate
from db.models import User
from db.repositories.announcements import BroadcastRepo
from db.repositories.users import ChildAge, ages_on
from tests.support.announce_helpers import add_subscribers
from tests.support.client import ADMIN_ID, PARENT_ID, BotTester, texts


def _today() -> date:
    return datetime.now(UTC).date()


def _years_ago(years: int, days: int = 0) -> date:
    today = _today()
    try:
        then = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        then = today.replace(year=today.year - years, day=28)
    return then - timedelta(days=days)


# --- the rule ----------------------------------------------------------------------------------------
def test_an_age_grows_on_each_anniversary_of_the_day_it_was_given() -> None:
    child = ChildAge(7, date(2025, 3, 1))
    assert child.age_on(date(2025, 3, 1)) == 7
    assert child.age_on(date(2026, 2, 28)) == 7
    assert child.age_on(date(2026, 3, 1)) == 8
    assert child.age_on(date(2030, 12, 31)) == 12
    assert child.age_on(date(2024, 1, 1)) == 7  # a day before it was given: never younger
    leap = ChildAge(5, date(2024, 2, 29))
    assert leap.age_on(date(2025, 2, 28)) == 5 and leap.age_on(date(2025, 3, 1)) == 6
    assert ages_on([ChildAge(12, date(2025, 3, 1)), child], date(2026, 3, 1)) == (8, 13)
    assert ChildAge.parse({"age": "7", "on": "2025-03-01"}) == child
    assert ChildAge.parse({"age": 7}) is None and ChildAge.parse("7") is None


@given(
    st.integers(0, 18),
    st.dates(date(2000, 1, 1), date(2040, 1, 1)),
    st.dates(date(2000, 1, 1), date(2060, 1, 1)),
    st.integers(1, 5000),
)
def test_an_age_never_falls_and_grows_by_one_a_year(age: int, given_on: date, day: date, later: int) -> None:
    def anniversaries(since: date, until: date) -> int:  # counted one by one (29 February: 1 March)
        count = 0
        while True:
            year = since.year + count + 1
            try:
                next_one = since.replace(year=year)
            except ValueError:
                next_one = date(year, 3, 1)
            if next_one > until:
                return count
            count += 1

    child = ChildAge(age, given_on)
    now = child.age_on(day)
    assert now == age + anniversaries(given_on, day)
    assert child.age_on(day + timedelta(days=later)) >= now


# --- where it is used ------------------------------------------------------------------------------
async def _age_given(tester: BotTester, user_id: int, ages: list[int], on: date) -> None:
    async with tester.db() as session:
        await session.execute(
            update(User)
            .where(User.id == user_id)
            .values(children=[{"age": a, "on": on.isoformat()} for a in ages])
        )


async def test_settings_and_mydata_count_the_years_since_the_ages_were_given(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/settings")
    prompt = await tester.click("Возраст детей")
    assert "Через год бот сам будет считать детей на год старше" in texts(prompt)
    assert any("Отмена" in b[0] for b in prompt[0].buttons)
    await tester.send("7, 12")
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None
        assert user.children == [
            {"age": 7, "on": _today().isoformat()},
            {"age": 12, "on": _today().isoformat()},
        ]
    given_on = _years_ago(1, days=1)  # a year and a day ago: both are a year older now
    await _age_given(tester, PARENT_ID, [7, 12], given_on)
    sent = await tester.send("/settings")
    assert "Возраст детей: 8 и 13 лет" in sent[0].text
    mydata = texts(await tester.send("/mydata"))
    assert "Возраст детей сейчас: 8 и 13 лет" in mydata
    assert f"вы указали 7 и 12 лет — {given_on.strftime('%d.%m.%Y')}" in mydata


async def test_the_ages_dialog_understands_cancel_words_and_has_a_cancel_button(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/settings")
    await tester.click("Возраст детей")
    sent = await tester.send("Отмена!")
    assert "возраст детей не меняем" in texts(sent) and "<b>Настройки</b>" in texts(sent)
    # the word is not taken as an age afterwards
    assert "Я не понял" not in texts(sent)
    await tester.click("Возраст детей")
    sent = await tester.click("Отмена")
    assert "<b>Настройки</b>" in texts(sent)
    sent = await tester.send("7")  # no dialog any more: not stored as an age
    async with tester.db() as session:
        user = await session.get(User, PARENT_ID)
        assert user is not None and user.children == []
    await tester.click("Возраст детей")
    assert "возраст детей не меняем" in texts(await tester.send("не надо"))


async def test_ages_from_three_are_accepted_as_in_the_catalogue(tester: BotTester) -> None:
    await tester.start_and_consent()
    await tester.send("/settings")
    await tester.click("Возраст детей")
    assert "не подходит" in texts(await tester.send("2"))
    sent = await tester.send("4")
    assert "Сохранено: 4 года." in texts(sent)


async def test_search_offers_the_children_as_old_as_they_are_now(tester: BotTester) -> None:
    await tester.app.services["catalogue"].load_demo_if_empty(tester.app.content.current)
    await tester.start_and_consent()
    await _age_given(tester, PARENT_ID, [7], _years_ago(2))
    await tester.send("/search")
    sent = await tester.click("Техническая")
    labels = [b[0] for b in sent[0].buttons]
    assert labels[0] == "👶 9 лет"


async def test_age_targeted_broadcasts_reach_the_children_as_old_as_they_are_now(tester: BotTester) -> None:
    async with tester.db() as session:
        await add_subscribers(session, [2001], ages=[7], ages_given_on=_years_ago(1))
        await add_subscribers(session, [2002], ages=[8])
    async with tester.app.database.read() as uow:
        repo = uow.repo(BroadcastRepo)
        assert await repo.recipients(Target(ages=(8,))) == [2001, 2002]
        assert await repo.recipients(Target(ages=(7,))) == []
    await tester.send("/broadcast", user_id=ADMIN_ID)
    await tester.send("Набор в кружки для восьмилеток", user_id=ADMIN_ID)
    await tester.click("Без фото", user_id=ADMIN_ID)
    await tester.click("По возрасту", user_id=ADMIN_ID)
    assert "нет ни одного получателя" in texts(await tester.send("7", user_id=ADMIN_ID))
    await tester.click("По возрасту", user_id=ADMIN_ID)
    assert "Получателей сейчас: 2" in texts(await tester.send("8", user_id=ADMIN_ID))


# --- the migration -------------------------------------------------------------------------------
def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


def test_migration_dates_the_ages_stored_before_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url, "0006")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO users (id, role, child_ages, is_active) VALUES (1, 'parent', '[7, 12]', 1),"
            " (2, 'parent', '[]', 1)"
        )
        conn.execute(
            "INSERT INTO events (id, title, starts_at, timezone, place, organisation, directions, audience,"
            " description, created_at) VALUES (1, 'ДОД', '2026-01-10 10:00:00', 'Asia/Irkutsk', 'ДДТ', 'ДДТ',"
            " '[]', 'parents', '', '2026-01-01 00:00:00')"
        )
        conn.execute(
            "INSERT INTO event_signups (event_id, user_id, created_at) VALUES (1, 1, '2026-01-02 00:00:00')"
        )
    migrate.upgrade(url)
    today = _today().isoformat()
    import json

    children = {uid: json.loads(raw) for uid, raw in _rows(path, "SELECT id, children FROM users")}
    assert children == {1: [{"age": 7, "on": today}, {"age": 12, "on": today}], 2: []}
    assert _rows(path, "SELECT user_id, cancelled_at, name, phone FROM event_signups") == [
        (1, None, None, None)
    ]
    # the app reads them as ages given today
    from bot.services.users import UserService
    from bot.settings import Settings
    from db.engine import create_engine
    from db.uow import Database

    async def lookup() -> tuple[int, ...]:
        database = Database(create_engine(url))
        try:
            return (await UserService(database, Settings(_env_file=None)).lookup(1)).child_ages  # type: ignore[call-arg]
        finally:
            await database.dispose()

    assert asyncio.run(lookup()) == (7, 12)
    # back down: the ages as they are on the day of the downgrade; cancelled sign-ups go
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE users SET children = ? WHERE id = 1",
                     (json.dumps([{"age": 7, "on": _years_ago(1).isoformat()}]),))  # fmt: skip
        conn.execute(
            "INSERT INTO event_signups (event_id, user_id, created_at, cancelled_at) "
            "VALUES (1, 2, '2026-01-02 00:00:00', '2026-01-03 00:00:00')"
        )
    migrate.downgrade(url, "0006")
    ages = {uid: json.loads(raw) for uid, raw in _rows(path, "SELECT id, child_ages FROM users")}
    assert ages == {1: [8], 2: []}
    assert _rows(path, "SELECT user_id FROM event_signups") == [(1,)]


@pytest.mark.postgres
def test_migration_dates_the_ages_on_postgres(pg_url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    migrate.upgrade(pg_url, "0006")
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return list(await conn.fetch(sql))
        finally:
            await conn.close()

    asyncio.run(run("INSERT INTO users (id, role, child_ages, is_active) VALUES (1, 'parent', '[7]', true)"))
    migrate.upgrade(pg_url)
    rows = asyncio.run(run("SELECT children::text AS c FROM users WHERE id = 1"))
    assert rows[0]["c"].replace(" ", "") == f'[{{"age":7,"on":"{_today().isoformat()}"}}]'
    migrate.downgrade(pg_url, "0006")
    rows = asyncio.run(run("SELECT child_ages::text AS c FROM users WHERE id = 1"))
    assert rows[0]["c"].replace(" ", "") == "[7]"


async def test_users_without_ages_store_an_empty_list(tester: BotTester) -> None:
    await tester.start_and_consent()
    async with tester.db() as session:
        stored = await session.scalar(select(User.children).where(User.id == PARENT_ID))
    assert stored == []
