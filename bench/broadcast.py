"""Broadcast benchmark: the real bot process against a local fake Bot API.

    .venv/bin/python bench/broadcast.py [--recipients 5000] [--limit 100] [--latency 0.05] [--strict]

It starts a fake Bot API server (tests/support/fake_api.py) that allows
`--limit` messages per second (429 with retry_after beyond that) and one per
second per chat, answers every request after `--latency` seconds, and has some
chats blocked (403). By default the limit is a token bucket (a quiet second's
allowance may be spent at once); with `--strict` it is a strict window: at most
`--limit` sends in ANY one-second window, no burst. It subscribes `--recipients`
users in a fresh SQLite database, records one broadcast, and runs
`python -m bot run` with BOT_TOKEN set to a fake token and TELEGRAM_API_URL
pointing at the fake server, so the broadcast worker in the bot process does the
work, through the bot's one sender. The bot's TELEGRAM_RATE is its default (28)
scaled to the limit (default × limit / 30: exactly the default at `--limit 30`),
or `--telegram-rate`.

Run 1 measures: delivered / blocked / failed (adding up to the recipients),
duplicates (must be 0), the achieved rate as a share of the limit (target
>= 0.9), the busiest one-second window and the 429s received. Run 2 kills the bot process with SIGKILL
half-way, starts it again, and shows 0 duplicates, how many messages were
"uncertain" (in flight at the kill: never sent again) and that every other
recipient got the message exactly once.

`--max-share F` (default 0: Telegram only) makes that share of the subscribers MAX
people (internal ids from `bot.channels.internal_id`). A MAX stand-in
(bot/local_max_api.py, `FakeMaxAPI(rate_limit=30, per_chat_rate=2)`: at most 30
requests of any kind in any one second, 2 messages a second into one dialog, 429
beyond) runs beside the fake Bot API with the same latency and share of people who
stopped the bot (403), and the bot process gets MAX_BOT_TOKEN and MAX_API_URL, so
its second broadcast worker sends the MAX half through MAX's own sender (MAX_RATE,
default 28). Every figure is then printed per channel and in total; run 2 must hold
0 duplicates across both channels.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.windows import busiest  # noqa: E402
from bot.channels import MAX_ID_BASE, Channel, internal_id  # noqa: E402
from bot.local_max_api import FakeMaxAPI  # noqa: E402
from bot.services.announcements.broadcasts import BroadcastDraft, BroadcastService  # noqa: E402
from bot.services.announcements.delivery import DeliveryService  # noqa: E402
from bot.services.announcements.subscriptions import Target  # noqa: E402
from bot.services.outbox import OutboxService  # noqa: E402
from bot.settings import Settings  # noqa: E402
from db import migrate  # noqa: E402
from db.engine import create_engine  # noqa: E402
from db.uow import Database  # noqa: E402
from tests.support.announce_helpers import add_subscribers  # noqa: E402
from tests.support.fake_api import SEND_METHODS, FakeBotAPI  # noqa: E402

STAFF_CHAT = -1001234567890
FIRST_ID = 10_000_000
FIRST_MAX_USER = 30_000_000  # MAX user ids of the MAX subscribers (internal ids: 2**53 + id)
MAX_TOKEN = "max-bench-token"
MAX_LIMIT = 30.0  # MAX: 30 requests per second to the API, every request counted
TEXT = "<b>День открытых дверей</b> в Доме детского творчества: суббота, 11:00. Ждём вас!"
TELEGRAM_LIMIT = 30.0  # what Telegram allows; the bot's default TELEGRAM_RATE is set a little below it


def telegram_rate(args: argparse.Namespace) -> float | None:
    """The bot's TELEGRAM_RATE for this run; None: leave the bot's default."""
    if args.telegram_rate is not None:
        return float(args.telegram_rate)
    if args.limit == TELEGRAM_LIMIT:
        return None
    default = float(Settings.model_fields["telegram_rate"].default)
    return default * args.limit / TELEGRAM_LIMIT



def span_rate(times: list[float]) -> float:
    if len(times) < 2 or times[-1] == times[0]:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


class Run:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.db_path = workdir / "bench.sqlite3"
        self.url = f"sqlite+aiosqlite:///{self.db_path}"
        n_max = round(args.recipients * args.max_share)
        n_tg = args.recipients - n_max
        self.tg_ids = list(range(FIRST_ID, FIRST_ID + n_tg))
        self.max_users = list(range(FIRST_MAX_USER, FIRST_MAX_USER + n_max))
        self.max_ids = [internal_id(Channel.MAX, u) for u in self.max_users]
        self.ids = self.tg_ids + self.max_ids
        step = max(int(1 / args.blocked_share), 1) if args.blocked_share > 0 else 0
        self.blocked = set(self.tg_ids[::step]) if step else set()
        self.max_stopped = set(self.max_users[::step]) if step else set()
        self.api = FakeBotAPI(
            rate_limit=args.limit,
            per_chat_interval=1.0,
            latency=args.latency,
            blocked=set(self.blocked),
            long_poll_cap=1.0,
            strict_window=args.strict,
        )
        self.max_api: FakeMaxAPI | None = None
        if n_max:
            self.max_api = FakeMaxAPI(
                token=MAX_TOKEN,
                rate_limit=MAX_LIMIT,
                per_chat_rate=2,
                latency=args.latency,
                long_poll_cap=1.0,
            )
            for user in self.max_users:
                self.max_api.user(user)  # the dialog exists: the person once started the bot
            self.max_api.stopped.update(self.max_stopped)
        self.database = Database(create_engine(self.url))
        self.sessionmaker = self.database.sessionmaker
        settings = Settings(_env_file=None, bot_token=None, database_url=self.url)  # type: ignore[call-arg]
        self.broadcasts = BroadcastService(self.database, settings)
        self.delivery = DeliveryService(self.database, settings, OutboxService(self.database))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "bot.log"
        self.broadcast_id = 0

    @property
    def all_blocked(self) -> int:
        return len(self.blocked) + len(self.max_stopped)

    async def prepare(self) -> None:
        await asyncio.to_thread(migrate.upgrade, self.url)
        async with self.sessionmaker() as session:
            await add_subscribers(session, self.ids)
            await session.commit()
        created = await self.broadcasts.create(BroadcastDraft(text=TEXT, target=Target(), created_by=None))
        self.broadcast_id = created.id
        await self.api.start()
        if self.max_api is not None:
            await self.max_api.start()

    def start_bot(self) -> None:
        env = {
            **os.environ,
            "BOT_TOKEN": "42:bench-fake-token",
            "TELEGRAM_API_URL": self.api.base_url,
            "DATABASE_URL": self.url,
            "STAFF_CHAT_ID": str(STAFF_CHAT),
            "ADMIN_IDS": "",
            "BROADCAST_CONCURRENCY": str(self.args.concurrency),
            "LOG_LEVEL": "WARNING",
        }
        for name in ("MAX_BOT_TOKEN", "MAX_API_URL", "MAX_WEBHOOK_URL"):
            env.pop(name, None)
        if self.max_api is not None:
            env["MAX_BOT_TOKEN"] = MAX_TOKEN
            env["MAX_API_URL"] = self.max_api.base_url
        rate = telegram_rate(self.args)
        if rate is not None:
            env["TELEGRAM_RATE"] = f"{rate:g}"
        else:
            env.pop("TELEGRAM_RATE", None)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env, stdout=log, stderr=log
            )

    def stop_bot(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def broadcast_sends(self) -> int:
        """Broadcast messages delivered so far, both channels."""
        tg = sum(n for chat, n in self.api.delivered.items() if chat > 0)
        return tg + (sum(self.max_api.delivered.values()) if self.max_api is not None else 0)

    def max_received(self, user: int) -> int:
        """How many messages MAX user `user` received."""
        assert self.max_api is not None
        return self.max_api.delivered[self.max_api.dialog_of(user)]

    def duplicates(self) -> dict[str, int]:
        out = {"Telegram": self.api.duplicates({TEXT})}
        if self.max_api is not None:
            out["MAX"] = self.max_api.duplicates()  # only the broadcast goes to MAX here
        return out

    async def wait_finished(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            broadcast = await self.delivery.broadcast(self.broadcast_id)
            if broadcast is not None and broadcast.finished_at is not None:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise SystemExit(f"the bot process exited early; see {self.log}")
            await asyncio.sleep(0.5)
        raise SystemExit(f"the broadcast did not finish in {timeout:.0f} s; see {self.log}")

    async def counts(self) -> dict[str, int]:
        return await self.delivery.counts(self.broadcast_id)

    async def rows(self) -> list[tuple[int, str]]:
        """(user id, state) of every outbox row of the broadcast."""
        async with self.sessionmaker() as session:
            from db.models import OutboxMessage  # reading the outcome to check it, not part of the bot

            result = await session.execute(
                select(OutboxMessage.user_id, OutboxMessage.state).where(
                    OutboxMessage.broadcast_id == self.broadcast_id
                )
            )
            return [(int(uid), str(state)) for uid, state in result.all()]

    async def channel_counts(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {"Telegram": Counter(), "MAX": Counter()}
        for uid, state in await self.rows():
            out["MAX" if uid >= MAX_ID_BASE else "Telegram"][state] += 1
        return out

    def _accepted(self) -> list[float]:
        """When the server accepted a broadcast send (200, or 403 from a chat that blocked the bot)."""
        return [
            r.at
            for r in self.api.received
            if r.method in SEND_METHODS and (r.chat_id or 0) > 0 and r.status != 429
        ]

    def rate(self) -> float:
        return span_rate(self._accepted())

    def busiest_window(self) -> int:
        """The most sends (of any chat, counted as the server counts them) in one second."""
        return busiest([r.at for r in self.api.received if r.method in SEND_METHODS and r.status != 429])

    def max_figures(self) -> dict[str, float]:
        """MAX: the message rate, the busiest second of accepted messages and of every request
        MAX counts (all but GET /updates), and of every request the bot made (429s included)."""
        assert self.max_api is not None
        received = self.max_api.received
        sends = [r.at for r in received if r.endpoint == "POST /messages" and r.status != 429]
        counted = [r.at for r in received if r.endpoint != "GET /updates" and r.status != 429]
        attempted = [r.at for r in received if r.endpoint != "GET /updates"]
        return {
            "rate": span_rate(sends),
            "busiest_sends": busiest(sends),
            "busiest_requests": busiest(counted),
            "busiest_attempts": busiest(attempted),
            "requests_rate": span_rate(counted),
            "polls": sum(1 for r in received if r.endpoint == "GET /updates"),
        }

    async def close(self) -> None:
        await self.api.stop()
        if self.max_api is not None:
            await self.max_api.stop()
        await self.database.dispose()


def _states(c: Counter[str] | dict[str, int]) -> str:
    return f"delivered {c.get('sent', 0)}, blocked {c.get('blocked', 0)}, failed {c.get('failed', 0)}"


async def run_full(args: argparse.Namespace, workdir: Path) -> bool:
    run = Run(args, workdir)
    await run.prepare()
    started = time.monotonic()
    run.start_bot()
    try:
        await run.wait_finished(timeout=args.recipients / min(args.limit, MAX_LIMIT) * 4 + 60)
    finally:
        run.stop_bot()
    elapsed = time.monotonic() - started
    c = await run.counts()
    delivered, blocked, failed = c.get("sent", 0), c.get("blocked", 0), c.get("failed", 0)
    rate = run.rate()
    duplicates = run.duplicates()
    rate_setting = telegram_rate(args)
    bot_rate = rate_setting if rate_setting is not None else Settings.model_fields["telegram_rate"].default
    split = run.max_api is not None
    print(f"Run 1: one broadcast to {args.recipients} subscribers"
          f"{f' ({len(run.tg_ids)} in Telegram, {len(run.max_ids)} in MAX)' if split else ''} "
          f"(limit {args.limit:g} msg/s {'in any one-second window' if args.strict else 'token bucket'}, "
          f"TELEGRAM_RATE {bot_rate:g}{'' if rate_setting is not None else ' (the default)'}, "
          f"{args.latency * 1000:.0f} ms per request, "
          f"{run.all_blocked} chats blocked, {args.concurrency} sends in flight"
          f"{' per channel' if split else ''})")  # fmt: skip
    ok = True
    if split:
        assert run.max_api is not None
        per = await run.channel_counts()
        tg, mx = per["Telegram"], per["MAX"]
        m = run.max_figures()
        max_rate = float(Settings.model_fields["max_rate"].default)
        tg_busiest = run.busiest_window()
        print(f"  Telegram: {_states(tg)} of {len(run.tg_ids)}; duplicates {duplicates['Telegram']}")
        print(f"    achieved rate {rate:.1f} msg/s = {rate / args.limit:.2f} of its limit {args.limit:g}; "
              f"busiest one-second window {tg_busiest} sends; "
              f"429 answers {run.api.too_many_requests}")  # fmt: skip
        print(f"  MAX: {_states(mx)} of {len(run.max_ids)}; duplicates {duplicates['MAX']}")
        print(f"    achieved rate {m['rate']:.1f} msg/s = {m['rate'] / MAX_LIMIT:.2f} of its limit "
              f"{MAX_LIMIT:g} requests/s (MAX_RATE {max_rate:g}, the default); busiest one-second "
              f"window {m['busiest_sends']:.0f} messages, {m['busiest_requests']:.0f} requests counted "
              f"by MAX ({m['busiest_attempts']:.0f} attempted, 429s included; {m['polls']:.0f} long polls "
              f"not counted); 429 answers {run.max_api.too_many_requests}")  # fmt: skip
        print(f"  total: {_states(c)}; sum {delivered + blocked + failed} of {args.recipients}; "
              f"duplicates {sum(duplicates.values())}")  # fmt: skip
        print(f"  achieved rate of both: {(rate + m['rate']):.1f} msg/s "
              f"(limits {args.limit:g} + {MAX_LIMIT:g})")  # fmt: skip
        ok = (
            tg.get("sent", 0) == len(run.tg_ids) - len(run.blocked)
            and mx.get("sent", 0) == len(run.max_ids) - len(run.max_stopped)
            and m["busiest_requests"] <= MAX_LIMIT
            and tg_busiest <= args.limit
        )
    else:
        print(f"  delivered {delivered}, blocked {blocked}, failed {failed}; "
              f"sum {delivered + blocked + failed} of {args.recipients}")  # fmt: skip
        print(f"  duplicates: {duplicates['Telegram']}")
        print(f"  achieved rate: {rate:.1f} msg/s = {rate / args.limit:.2f} of the limit (target >= 0.90)")
        print(f"  busiest one-second window: {run.busiest_window()} sends (limit {args.limit:g})")
        print(f"  429 answers received: {run.api.too_many_requests}")
    print(f"  wall time with start-up: {elapsed:.1f} s")
    await run.close()
    return (
        ok
        and delivered + blocked + failed == args.recipients
        and sum(duplicates.values()) == 0
        and delivered == args.recipients - run.all_blocked
    )


async def run_killed(args: argparse.Namespace, workdir: Path) -> bool:
    run = Run(args, workdir)
    await run.prepare()
    run.start_bot()
    half = args.recipients // 2
    deadline = time.monotonic() + args.recipients / min(args.limit, MAX_LIMIT) * 4 + 60
    while run.broadcast_sends() < half:
        if time.monotonic() > deadline:
            raise SystemExit(f"the bot never got half-way; see {run.log}")
        await asyncio.sleep(0.01)
    run.stop_bot(signal.SIGKILL)
    at_kill = run.broadcast_sends()
    run.start_bot()
    try:
        await run.wait_finished(timeout=args.recipients / min(args.limit, MAX_LIMIT) * 4 + 60)
    finally:
        run.stop_bot()
    c = await run.counts()
    uncertain = c.get("uncertain", 0)
    rows = await run.rows()
    uncertain_ids = {uid for uid, state in rows if state == "uncertain"}

    def received(uid: int) -> int:
        if uid >= MAX_ID_BASE:
            return run.max_received(uid - MAX_ID_BASE)
        return run.api.delivered[uid]

    def once(uid: int) -> bool:
        if uid >= MAX_ID_BASE:
            return run.max_received(uid - MAX_ID_BASE) == 1
        return run.api.delivered_texts[(uid, TEXT)] == 1

    blocked_ids = run.blocked | {internal_id(Channel.MAX, u) for u in run.max_stopped}
    received_uncertain = sum(1 for uid in uncertain_ids if received(uid))
    others = [uid for uid in run.ids if uid not in blocked_ids and uid not in uncertain_ids]
    missing = [uid for uid in others if not once(uid)]
    duplicates = run.duplicates()
    channels = 2 if run.max_api is not None else 1
    in_flight = args.concurrency * channels
    print(f"Run 2: SIGKILL of the bot process after {at_kill} messages, then a restart")
    print(f"  delivered {c.get('sent', 0)}, blocked {c.get('blocked', 0)}, failed {c.get('failed', 0)}, "
          f"uncertain {uncertain}; sum {sum(c.values())} of {args.recipients}")  # fmt: skip
    if run.max_api is not None:
        per = await run.channel_counts()
        for name in ("Telegram", "MAX"):
            print(f"    {name}: {_states(per[name])}, uncertain {per[name].get('uncertain', 0)}; "
                  f"duplicates {duplicates[name]}")  # fmt: skip
    print(f"  duplicates: {sum(duplicates.values())}")
    print(f"  uncertain (in flight at the kill, not sent again): {uncertain} (the server had "
          f"received {received_uncertain} of them; at most {in_flight} possible)")  # fmt: skip
    print(f"  every other recipient delivered exactly once: {'yes' if not missing else 'NO'} "
          f"({len(others) - len(missing)} of {len(others)})")  # fmt: skip
    await run.close()
    return sum(duplicates.values()) == 0 and not missing and uncertain <= in_flight


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--limit", type=float, default=100.0, help="fake server's msg/s")
    parser.add_argument(
        "--strict", action="store_true", help="the limit holds in ANY one-second window (no burst)"
    )
    parser.add_argument(
        "--telegram-rate", type=float, default=None,
        help="the bot's TELEGRAM_RATE (default: its default 28 scaled to the limit, × limit / 30)",
    )  # fmt: skip
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument(
        "--blocked-share", type=float, default=0.02, help="share of chats that blocked the bot"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="BROADCAST_CONCURRENCY of the bot")
    parser.add_argument(
        "--max-share", type=float, default=0.0,
        help="share of the subscribers who are in MAX (default 0: Telegram only)",
    )  # fmt: skip
    parser.add_argument("--skip-kill", action="store_true", help="only run 1")
    parser.add_argument("--only-kill", action="store_true", help="only run 2 (used by the smoke test)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mocbot-bench-") as tmp:
        ok = True
        if not args.only_kill:
            ok = asyncio.run(run_full(args, Path(tmp)))
        if not args.skip_kill:
            second = Path(tmp) / "kill"
            second.mkdir()
            ok = asyncio.run(run_killed(args, second)) and ok
    print("RESULT:", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
