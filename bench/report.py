"""Benchmark: the annual report over a big log, and the cost of activity logging per update.

    .venv/bin/python bench/report.py                # 1,000,000 bot events + 100,000 staff activities
    .venv/bin/python bench/report.py --events 20000 --activities 2000 --updates 200   # a quick run

1. Generates, with bulk inserts into a migrated SQLite file (bench/out/report.sqlite3):
   - EVENTS rows of the bot's own log (`activity_events`): FAQ questions (answered, suggested,
     fallback, small talk), hand-offs and their answers, program searches, broadcasts, sign-ups,
     subscriptions, all inside the reported year (the worst case for one report);
   - ACTIVITIES staff-logged activities spread over ten years (a tenth of them in the reported year).
2. Prints the time of one year's report in each format (the figures are aggregated in SQL; the
   time includes building the report and rendering the file). Target: <= 3 s each.
3. Feeds UPDATES messages through the real dispatcher (middlewares, LocalBotSession answering
   like Telegram, the ActivityWriter started as on_startup does) to a handler that records an
   activity event in a short write unit and to one that only answers, alternating rounds, and
   prints updates per second for both.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiogram import Router  # noqa: E402
from aiogram.filters import Command  # noqa: E402
from aiogram.fsm.storage.memory import MemoryStorage  # noqa: E402
from aiogram.types import Message  # noqa: E402

YEAR = 2025
TZ = ZoneInfo("Asia/Irkutsk")
ADMIN = 9001
PARENT = 1001
FAQ_TOPICS = [f"topic-{i:02d}" for i in range(40)]
DIRECTIONS = ["tech", "sci", "sport", "art", "tour", "soc", None]
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _events(n: int, rng: random.Random):  # type: ignore[no-untyped-def]
    """Events in time order, as the bot appends them."""
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    offsets = sorted(rng.randrange(364 * 86400) for _ in range(n))
    for i, offset in enumerate(offsets):
        when = (start + timedelta(seconds=offset)).strftime(TS_FORMAT)
        user = rng.randrange(1, 60_000)
        roll = rng.random()
        mun = "sayansk" if user % 3 else "zima"
        if roll < 0.6:
            outcome = rng.choices(["answer", "suggest", "fallback", "smalltalk"], [70, 15, 10, 5])[0]
            topic = rng.choice(FAQ_TOPICS) if outcome in ("answer", "suggest") else None
            yield (when, "faq.question", mun, user, topic, outcome, None, None, None)
        elif roll < 0.8:
            yield (when, "catalogue.search", mun, user, rng.choice(DIRECTIONS), None, rng.randint(5, 18),
                   float(rng.randint(0, 30)), None)  # fmt: skip
        elif roll < 0.86:
            yield (when, "handoff.created", mun, user, None, None, None, None, f"q{i}")
        elif roll < 0.91:
            yield (
                when,
                "handoff.answered",
                mun,
                user,
                None,
                None,
                None,
                float(rng.randint(60, 86400)),
                f"q{i}",
            )
        elif roll < 0.9105:
            yield (
                when,
                "broadcast.sent",
                mun,
                None,
                None,
                None,
                None,
                float(rng.randint(100, 5000)),
                f"b{i}",
            )
        elif roll < 0.96:
            ref = f"e{rng.randrange(200)}"
            yield (when, "event.signup", mun, user, f"День открытых дверей {ref}", None, None, None, ref)
        elif roll < 0.97:
            yield (
                when,
                "event.signup_cancelled",
                mun,
                user,
                None,
                None,
                None,
                None,
                f"e{rng.randrange(200)}",
            )
        elif roll < 0.99:
            yield (when, "subscription.on", mun, user, None, None, None, None, None)
        else:
            yield (when, "subscription.off", mun, user, None, None, None, None, None)


def _activities(n: int, rng: random.Random):  # type: ignore[no-untyped-def]
    kinds = ["meeting", "open_day", "consultation", "master_class", "seminar", "round_table", "competition",
             "publication", "other"]  # fmt: skip
    audiences = ["parents", "students", "educators", "other"]
    now = datetime.now(UTC).strftime(TS_FORMAT)
    first = date(YEAR - 9, 1, 1)
    for i in range(n):
        held_on = (first + timedelta(days=rng.randrange(3650))).isoformat()
        yield (held_on, f"Мероприятие №{i}", rng.choice(kinds), rng.choice(audiences), rng.randint(5, 300),
               None, "[]", rng.choice(["offline", "online", None]), rng.choice(["sayansk", "zima"]), ADMIN,
               "import", now, now)  # fmt: skip


def generate(path: Path, events: int, activities: int) -> float:
    from db import migrate

    path.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    started = time.perf_counter()
    rng = random.Random(42)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        with conn:
            conn.executemany(
                "INSERT INTO activity_events (occurred_at, kind, municipality_id, user_id, topic, outcome,"
                " age, value, ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _events(events, rng),
            )
            conn.executemany(
                "INSERT INTO outreach_activities (held_on, title, kind, audience, reached, organisation,"
                " directions, format, municipality_id, logged_by, source, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _activities(activities, rng),
            )
    finally:
        conn.close()
    return time.perf_counter() - started


async def time_reports(url: str, repeats: int = 3) -> None:
    """Best of `repeats` (as timeit does: the minimum is the run least disturbed by other load)."""
    from bot.content import load_content
    from bot.services.outreach import render
    from bot.services.outreach.chart import to_png
    from bot.services.outreach.periods import calendar_year
    from bot.services.outreach.service import ReportService
    from bot.settings import PROJECT_ROOT, Settings
    from db.engine import create_engine
    from db.uow import Database

    load_content(PROJECT_ROOT / "content")
    settings = Settings(_env_file=None, database_url=url, timezone=str(TZ))  # type: ignore[call-arg]
    database = Database(create_engine(url))
    reports = ReportService(database, settings)
    period = calendar_year(YEAR, TZ)
    renderers = {
        "json": lambda r: render.to_json(r).encode(),
        "text": lambda r: render.paragraph(r, period.phrase).encode(),
        "csv": lambda r: render.to_csv(r).encode("utf-8-sig"),
        "xlsx": render.to_xlsx,
        "png": lambda r: to_png(r, render.chart_title(r)),
    }
    try:
        sql_times = []
        sql_cpu = []
        for _ in range(repeats):
            started, cpu = time.perf_counter(), time.process_time()
            report = await reports.build(period)
            sql_times.append(time.perf_counter() - started)
            sql_cpu.append(time.process_time() - cpu)
    finally:
        await database.dispose()
    sql = min(sql_times)
    print(f"\nA year's report ({period.label}), whole region, best of {repeats}; target <= 3 s each:")
    print(
        f"  figures in SQL: {sql:.2f} s (runs: {', '.join(f'{t:.2f}' for t in sql_times)}; "
        f"CPU time of this process {min(sql_cpu):.2f} s, i.e. without other load)"
    )
    for fmt, make in renderers.items():
        best = best_cpu = float("inf")
        for _ in range(repeats):
            started, cpu = time.perf_counter(), time.process_time()
            data = make(report)
            best = min(best, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - cpu)
        print(
            f"  {fmt:5s} {sql + best:6.2f} s  (SQL {sql:.2f} s + rendering {best:.2f} s; "
            f"CPU {min(sql_cpu) + best_cpu:.2f} s; {len(data):>9,} bytes)"
        )
    print(
        f"  figures: {report.outreach.total.events} activities, "
        f"{report.bot.consultations.questions} questions, "
        f"{sum(k.events for k in report.bot.by_kind)} bot events in the year"
    )


async def time_handlers(url: str, updates: int, rounds: int, warmup: int = 100) -> None:
    import handlers
    from bot.app import create_bot, create_dispatcher
    from bot.content import ContentStore
    from bot.local_api import LocalBotSession, UpdateFactory
    from bot.services.activity import ActivityRepo, ActivityWriter, Kind
    from bot.services.users import UserService
    from bot.settings import PROJECT_ROOT, Settings
    from db.base import utcnow
    from db.engine import create_engine
    from db.repositories.users import UserRepo
    from db.uow import Database

    bench_router = Router(name="bench")

    @bench_router.message(Command("plain"))
    async def plain(message: Message) -> None:
        await message.answer("ok")

    @bench_router.message(Command("logged"))
    async def logged(message: Message, database: Database) -> None:
        # As a service does it: the row rides in the unit of work of the change it belongs to.
        async with database.write() as uow:
            await uow.repo(ActivityRepo).record(
                Kind.FAQ_QUESTION, user_id=message.chat.id, topic="bench", outcome="answer"
            )
        await message.answer("ok")

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        admin_ids=[ADMIN],
        throttle_rate=1e9,
        throttle_burst=10**9,
        content_dir=PROJECT_ROOT / "content",
    )
    original = handlers.get_routers
    handlers.get_routers = lambda: [bench_router, *original()]  # type: ignore[assignment]
    engine = create_engine(url)
    database = Database(engine)
    try:
        dp = create_dispatcher(
            settings,
            database,
            ContentStore(settings.content_dir),
            storage=MemoryStorage(),
            users=UserService(database, settings),
        )
    finally:
        handlers.get_routers = original  # type: ignore[assignment]
    session = LocalBotSession()
    bot = create_bot(settings, session=session, token="42:bench")
    # A consented parent, the bulk of real traffic (looked up on every update, written by neither
    # handler itself).
    async with database.write() as uow:
        await uow.repo(UserRepo).give_consent(PARENT, utcnow(), "sayansk")
    factory = UpdateFactory(user_id=PARENT)
    # As the bot runs (bot/app.py on_startup): committed activity rows go to the batching writer.
    writer = ActivityWriter(database)
    await writer.start()

    async def one(command: str) -> float:
        started = time.perf_counter()
        await dp.feed_update(bot, factory.message(command, user_id=PARENT))
        return time.perf_counter() - started

    async def round_(n: int) -> dict[str, float]:
        """Updates interleaved one by one, so load from other processes hits both modes alike."""
        spent = {"/plain": 0.0, "/logged": 0.0}
        for i in range(n):
            order = ("/plain", "/logged") if i % 2 else ("/logged", "/plain")
            for command in order:
                spent[command] += await one(command)
        session.sent.clear()
        session.requests.clear()
        return {command: n / seconds for command, seconds in spent.items()}

    try:
        await round_(warmup)  # warm up: imports, caches, the user row
        rates: dict[str, list[float]] = {"/plain": [], "/logged": []}
        for _ in range(rounds):
            for command, rate in (await round_(updates)).items():
                rates[command].append(rate)
    finally:
        await writer.stop()  # writes what is still buffered, as on shutdown
        await engine.dispose()
    plain_rate = statistics.median(rates["/plain"])
    logged_rate = statistics.median(rates["/logged"])
    print(
        f"\nHandler throughput of a consented parent, {rounds} rounds of {updates} interleaved updates"
        " (median), SQLite:"
    )
    print(f"  without activity logging: {plain_rate:7.0f} updates/s")
    change = 100 * (logged_rate / plain_rate - 1)
    print(f"  with activity logging:    {logged_rate:7.0f} updates/s  ({change:+.1f} %)")
    print(f"  activity rows written by the background writer: {writer.written} in {writer.batches} batches")
    spread = [100 * (max(v) - min(v)) / statistics.median(v) for v in rates.values()]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  run-to-run spread: {spread[0]:.1f} % / {spread[1]:.1f} % (differences below it are noise)")
    print(f"  machine load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="bot events in the reported year")
    parser.add_argument("--activities", type=int, default=100_000, help="staff activities over ten years")
    parser.add_argument("--updates", type=int, default=2000, help="updates per throughput round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "out" / "report.sqlite3")
    parser.add_argument("--reuse", action="store_true", help="keep the generated database if it exists")
    args = parser.parse_args()
    url = f"sqlite+aiosqlite:///{args.db}"
    if not (args.reuse and args.db.exists()):
        print(
            f"Generating {args.events:,} bot events and {args.activities:,} staff activities in {args.db} ..."
        )
        print(f"  generated in {generate(args.db, args.events, args.activities):.1f} s")
    asyncio.run(time_reports(url))
    asyncio.run(time_handlers(url, args.updates, args.rounds))


if __name__ == "__main__":
    main()
