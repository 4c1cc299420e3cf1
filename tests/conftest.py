from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiogram.fsm.storage.memory import MemoryStorage

from bot.app import App, create_app
from bot.settings import PROJECT_ROOT, Settings
from db import migrate
from tests.support.client import ADMIN_ID, STAFF_CHAT_ID, BotTester

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEFAULT_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once; each test gets a copy (fast and isolated)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate.upgrade(sqlite_url(path))
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_template: Path) -> str:
    target = tmp_path / "mocbot.sqlite3"
    shutil.copy(migrated_template, target)
    return sqlite_url(target)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=None,
        database_url=db_url,
        admin_ids=[ADMIN_ID],
        staff_chat_id=STAFF_CHAT_ID,
        content_dir=PROJECT_ROOT / "content",
        timezone="Asia/Irkutsk",
        redis_url=None,
        default_municipality=None,
        # Scenario tests type faster than any person; test_throttling sets its own.
        throttle_rate=1000.0,
        throttle_burst=1000,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    application = create_app(settings, storage=MemoryStorage())
    yield application
    await application.engine.dispose()


@pytest.fixture
async def tester(app: App) -> BotTester:
    return BotTester(app)


def _unreachable(what: str, env: str, reason: str) -> None:
    message = f"{what} is not reachable ({reason}); set {env} or start it"
    if IN_CI:
        pytest.fail(f"{message}. In CI (CI=true) this is a failure, not a skip.")
    pytest.skip(message)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    base = os.environ.get("TEST_POSTGRES_URL", DEFAULT_PG_URL)
    url = make_url(base)
    name = f"mocbot_test_{uuid.uuid4().hex[:12]}"
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _unreachable("PostgreSQL", "TEST_POSTGRES_URL", str(exc))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def redis_url() -> str:
    import asyncio

    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    url = os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)

    async def ping() -> None:
        client = Redis.from_url(url, socket_connect_timeout=3)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except (OSError, RedisError) as exc:
        _unreachable("Redis", "TEST_REDIS_URL", str(exc))
    return url
