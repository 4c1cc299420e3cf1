"""Load benchmark: one `mocbot run` process on SQLite against a fake Bot API with
Telegram's physics, driven by simulated parents. Prints every figure it measures.

    .venv/bin/python bench/load.py [--parents 600] [--steady 60] [--seconds 60] [--quick]

The fake Bot API (tests/support/fake_api.py) answers every request after `--latency`
(50 ms) and allows `--limit` (30) messages per second for the whole bot, as a strict
one-second window (429 with `retry_after` beyond). The bot runs as a real process
(`python -m bot run`, BOT_TOKEN set, TELEGRAM_API_URL pointing at the fake server);
its log is kept and its ERROR lines are counted.

Phases:
1. burst — `--parents` new parents send /start within one second, then each consents,
   chooses a municipality when asked and subscribes. Every step must be answered,
   every subscription stored, and the last parent answered within 1.2 × the physical
   minimum (the messages the bot had to send ÷ the limit).
2. steady — `--steady` parents act every 2–4 s (questions, searches, buttons,
   commands) for `--seconds`: unanswered, p50, p99.
3. steady + broadcast — the same while a broadcast to every subscriber runs: p99, and
   the share of the limit the bot used.
4. capacity — no rate limit: the updates per second the bot sustains with p99 ≤ 1 s,
   beside aiogram's empty dispatcher (one handler that answers «ok») on the same fake
   API in the same run.

The machine is shared: the load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db import migrate  # noqa: E402
from tests.support.fake_api import SEND_METHODS, FakeBotAPI, Received  # noqa: E402

STAFF_CHAT = -1001234567890
FIRST_ID = 50_000_000
TOKEN = "42:load-bench-token"
BROADCAST_TEXT = "Завтра день открытых дверей, ждём вас!"
UNLIMITED = {"TELEGRAM_RATE": "1000"}

QUESTIONS = [
    "как получить сертификат",
    "не приходит письмо из навигатора",
    "что значит статус заявки на рассмотрении",
    "сколько денег на сертификате",
    "как записать ребенка в кружок через госуслуги",
    "можно ли ходить в два кружка по сертификату",
    "где подтвердить данные сертификата",
    "забыла пароль от навигатора",
]
SEARCHES = ["робототехника для 10 лет", "танцы девочке 7 лет", "шахматы", "кружок рисования 8 лет"]
COMMANDS = ["/help", "/events", "/settings", "/menu", "/mydata"]

BASELINE_BOT = """
import asyncio, os, sys
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer("ok")

    await dp.start_polling(bot, handle_signals=True)

asyncio.run(main())
"""


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    return f"{one:.2f} {five:.2f} {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def ms(value: float) -> str:
    return f"{value * 1000:.0f} ms"


@dataclass
class Waiter:
    predicate: Callable[[Received], bool]
    future: asyncio.Future[Received]


@dataclass
class World:
    """The fake API plus a per-chat index of what the bot sent, so parents can wait."""

    api: FakeBotAPI
    waiters: dict[int, list[Waiter]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.api.listeners.append(self._on_send)

    def _on_send(self, record: Received) -> None:
        chat = record.chat_id
        if chat is None:
            return
        for waiter in list(self.waiters.get(chat, ())):
            if not waiter.future.done() and waiter.predicate(record):
                waiter.future.set_result(record)
                self.waiters[chat].remove(waiter)

    async def step(
        self, chat: int, push: Callable[[], None], predicate: Callable[[Received], bool], timeout: float
    ) -> tuple[float | None, Received | None]:
        """Push an update and wait for the first matching message to `chat`: (latency, message)."""
        future: asyncio.Future[Received] = asyncio.get_running_loop().create_future()
        waiter = Waiter(predicate, future)
        self.waiters[chat].append(waiter)
        started = time.monotonic()
        push()
        try:
            record = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            if waiter in self.waiters[chat]:
                self.waiters[chat].remove(waiter)
            return None, None
        return record.at - started, record


def any_message(_: Received) -> bool:
    return True


def has_button(label: str) -> Callable[[Received], bool]:
    def check(record: Received) -> bool:
        markup = record.reply_markup or {}
        return any(label in b.get("text", "") for row in markup.get("inline_keyboard", []) for b in row)

    return check


def has_any_button(*labels: str) -> Callable[[Received], bool]:
    checks = [has_button(label) for label in labels]
    return lambda record: any(check(record) for check in checks)


def contains(*words: str) -> Callable[[Received], bool]:
    return lambda record: any(w in record.text for w in words)


def button_data(record: Received, label: str) -> str:
    for row in (record.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            if label in button.get("text", "") and "callback_data" in button:
                return str(button["callback_data"])
    raise KeyError(label)


class BotProcess:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def errors(self) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if " ERROR " in line]


async def wait_ready(api: FakeBotAPI, proc: BotProcess, timeout: float = 120.0) -> None:
    """The bot polls once it is ready (content, FAQ index, migrations done)."""
    deadline = time.monotonic() + timeout
    while not any(r.method == "getupdates" for r in api.received):
        if proc.proc.poll() is not None:
            raise SystemExit(f"the bot exited early; see {proc.log}")
        if time.monotonic() > deadline:
            raise SystemExit(f"the bot did not start polling in {timeout:.0f} s; see {proc.log}")
        await asyncio.sleep(0.2)


def bot_env(api: FakeBotAPI, db_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": api.base_url,
        "DATABASE_URL": db_url,
        "STAFF_CHAT_ID": str(STAFF_CHAT),
        "ADMIN_IDS": "1",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        **(extra or {}),
    }


def messages_sent(api: FakeBotAPI, since: float, until: float | None = None) -> int:
    sends = SEND_METHODS | {"editmessagetext", "editmessagereplymarkup"}
    return sum(
        1
        for r in api.received
        if r.method in sends and r.status == 200 and r.at >= since and (until is None or r.at <= until)
    )


# --- phase 1: burst -----------------------------------------------------------------
async def parent_onboarding(world: World, user_id: int, delay: float, timeout: float) -> list[float | None]:
    """/start, then whatever the bot asks (the municipality, the consent) until the menu, then /subscribe."""
    await asyncio.sleep(delay)
    api = world.api
    steps: list[float | None] = []
    asks = has_any_button("Согласен", "Саянск")
    latency, reply = await world.step(user_id, lambda: api.user_message(user_id, "/start"), asks, timeout)
    steps.append(latency)
    for _ in range(3):  # at most: municipality, consent, (a second municipality question)
        if reply is None:
            return [*steps, None]
        labels = [label for label in ("Саянск", "Согласен") if has_button(label)(reply)]
        if not labels:
            break
        label = labels[0]
        data = button_data(reply, label)
        target = reply
        latency, reply = await world.step(
            user_id,
            lambda m=target, d=data: api.press(user_id, m, d),
            lambda r: asks(r) or "Главное меню" in r.text,
            timeout,
        )
        steps.append(latency)
    if reply is None or "Главное меню" not in reply.text:
        return [*steps, None]
    latency, _ = await world.step(
        user_id, lambda: api.user_message(user_id, "/subscribe"), contains("подписаны"), timeout
    )
    steps.append(latency)
    return steps


async def burst(world: World, parents: list[int], db_file: Path, limit: float) -> dict[str, Any]:
    started = time.monotonic()
    timeout = len(parents) * 8 / limit + 60
    results = await asyncio.gather(
        *(parent_onboarding(world, uid, i / len(parents), timeout) for i, uid in enumerate(parents))
    )
    steps = [s for r in results for s in r]
    unanswered = sum(1 for s in steps if s is None)
    last_answer = max(
        (r.at for r in world.api.received if r.status == 200 and (r.chat_id or 0) in set(parents)),
        default=started,
    )
    sent = messages_sent(world.api, started, last_answer)
    minimum = sent / limit
    with sqlite3.connect(db_file) as conn:
        stored = conn.execute(
            f"SELECT count(*) FROM subscriptions WHERE active = 1 AND user_id >= {FIRST_ID}"
        ).fetchone()[0]
    return {
        "steps": len(steps),
        "unanswered": unanswered,
        "stored": stored,
        "elapsed": last_answer - started,
        "messages": sent,
        "minimum": minimum,
        "latencies": [s for s in steps if s is not None],
    }


# --- phase 2/3: steady talk -------------------------------------------------------------
async def talker(
    world: World, user_id: int, until: float, rng: random.Random, out: list[float | None]
) -> None:
    api = world.api
    await asyncio.sleep(rng.uniform(0, 2))
    menu: Received | None = None
    while time.monotonic() < until:
        kind = rng.random()
        if kind < 0.4:
            text = rng.choice(QUESTIONS)
            latency, reply = await world.step(
                user_id, lambda t=text: api.user_message(user_id, t), any_message, 10
            )
        elif kind < 0.65:
            text = rng.choice(SEARCHES)
            latency, reply = await world.step(
                user_id, lambda t=text: api.user_message(user_id, t), any_message, 10
            )
        elif kind < 0.8 and menu is not None:
            target = menu
            data = button_data(target, "Частые вопросы")
            latency, reply = await world.step(
                user_id, lambda m=target, d=data: api.press(user_id, m, d), any_message, 10
            )
        else:
            text = rng.choice(COMMANDS)
            latency, reply = await world.step(
                user_id, lambda t=text: api.user_message(user_id, t), any_message, 10
            )
        if reply is not None and has_button("Частые вопросы")(reply):
            menu = reply
        out.append(latency)
        await asyncio.sleep(rng.uniform(2, 4))


async def steady(world: World, talkers: list[int], seconds: float, seed: int) -> list[float | None]:
    until = time.monotonic() + seconds
    out: list[float | None] = []
    await asyncio.gather(*(talker(world, uid, until, random.Random(seed + uid), out) for uid in talkers))
    return out


def summary(latencies: list[float | None]) -> str:
    answered = [x for x in latencies if x is not None]
    return (
        f"{len(latencies)} actions, unanswered {len(latencies) - len(answered)}, "
        f"p50 {ms(pct(answered, 50))}, p99 {ms(pct(answered, 99))}, max {ms(max(answered, default=0))}"
    )


# --- phase 4: capacity --------------------------------------------------------------------
async def capacity(
    world: World, users: list[int], rates: list[int], seconds: float
) -> list[tuple[int, float, int]]:
    """For each offered rate: (rate, p99, unanswered)."""
    out: list[tuple[int, float, int]] = []
    api = world.api
    for rate in rates:
        latencies: list[float | None] = []
        tasks = []
        interval = 1.0 / rate
        start = time.monotonic()
        n = int(rate * seconds)
        for i in range(n):
            user = users[i % len(users)]
            text = QUESTIONS[i % len(QUESTIONS)]

            async def one(u: int = user, t: str = text, out: list[float | None] = latencies) -> None:
                latency, _ = await world.step(u, lambda: api.user_message(u, t), any_message, 5)
                out.append(latency)

            delay = start + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        answered = [x for x in latencies if x is not None]
        p99 = pct(answered, 99) if len(answered) == len(latencies) else float("inf")
        out.append((rate, p99, len(latencies) - len(answered)))
        print(f"    {rate:>4} updates/s offered: p99 {ms(p99) if p99 != float('inf') else '—'}, "
              f"unanswered {len(latencies) - len(answered)}", flush=True)  # fmt: skip
        if p99 > 1.0:
            break
        await asyncio.sleep(1.0)
    return out


def sustained(results: list[tuple[int, float, int]]) -> int:
    ok = [rate for rate, p99, lost in results if p99 <= 1.0 and lost == 0]
    return max(ok, default=0)


async def main(args: argparse.Namespace) -> int:
    print(f"load average at start: {load_average()}")
    workdir = Path(tempfile.mkdtemp(prefix="mocbot-load-"))
    db_file = workdir / "load.sqlite3"
    db_url = f"sqlite+aiosqlite:///{db_file}"
    await asyncio.to_thread(migrate.upgrade, db_url)
    api = FakeBotAPI(
        rate_limit=args.limit, strict_window=True, latency=args.latency, long_poll_cap=1.0, retry_after=1
    )
    await api.start()
    world = World(api)
    log = workdir / "bot.log"
    ok = True
    parents = list(range(FIRST_ID, FIRST_ID + args.parents))
    if args.capacity_only:
        # the capacity phase alone: its parents consent first, with no rate limit anywhere
        api.rate_limit = None
        env = bot_env(api, db_url, {"TELEGRAM_RATE": "1000"})
        bot = BotProcess([sys.executable, "-m", "bot", "run"], env, log)
        try:
            await wait_ready(api, bot)
            await burst(world, parents[: max(args.steady, 100)], db_file, 1000.0)
        finally:
            bot.stop()
        return await capacity_phase(args, api, world, workdir, db_url, parents, ok)
    bot = BotProcess([sys.executable, "-m", "bot", "run"], bot_env(api, db_url), log)
    try:
        await wait_ready(api, bot)
        print(f"\n1. burst: {args.parents} new parents press /start within one second, then consent, "
              f"choose a municipality when asked, and /subscribe "
              f"(limit {args.limit:g} msg/s as a strict window, {ms(args.latency)} per request)")  # fmt: skip
        b = await burst(world, parents, db_file, args.limit)
        ratio = b["elapsed"] / b["minimum"] if b["minimum"] else float("nan")
        print(f"   steps {b['steps']}, unanswered {b['unanswered']}; subscriptions stored "
              f"{b['stored']} of {args.parents}")  # fmt: skip
        print(f"   messages the bot sent {b['messages']}: physical minimum {b['minimum']:.1f} s; "
              f"last parent answered after {b['elapsed']:.1f} s = {ratio:.2f} × the minimum "
              "(target ≤ 1.2)")  # fmt: skip
        print(f"   step latency p50 {ms(pct(b['latencies'], 50))}, p99 {ms(pct(b['latencies'], 99))}")
        ok &= b["unanswered"] == 0 and b["stored"] == args.parents and ratio <= 1.2

        await asyncio.sleep(3)  # let the tail of the burst settle
        talkers = parents[: args.steady]
        print(f"\n2. steady: {len(talkers)} parents, each acting every 2–4 s for {args.seconds:g} s")
        s1 = await steady(world, talkers, args.seconds, seed=1)
        print(f"   {summary(s1)}")
        answered = [x for x in s1 if x is not None]
        ok &= len(answered) == len(s1) and pct(answered, 50) <= 0.15 and pct(answered, 99) <= 1.0

        print(f"\n3. steady + a broadcast to all {args.parents} subscribers")
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bot", "broadcast", "--text", BROADCAST_TEXT],
            cwd=ROOT, env=bot_env(api, db_url), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if cli.returncode != 0:
            print(f"   could not record the broadcast: {cli.stderr.strip()}")
            ok = False
        phase_start = time.monotonic()
        s2 = await steady(world, talkers, args.seconds, seed=2)
        phase_end = time.monotonic()
        broadcast_sent = sum(
            1
            for r in api.received
            if r.method == "sendmessage" and r.status == 200 and r.text.startswith(BROADCAST_TEXT)
            and phase_start - 5 <= r.at <= phase_end
        )  # fmt: skip
        duplicates = api.duplicates({r.text for r in api.received if r.text.startswith(BROADCAST_TEXT)})
        used = messages_sent(api, phase_start, phase_end) / (phase_end - phase_start)
        print(f"   {summary(s2)}")
        print(f"   broadcast messages delivered meanwhile: {broadcast_sent} (duplicates: {duplicates}); "
              f"the bot used {used:.1f} msg/s = {used / args.limit:.2f} of the limit; 429 answers so far: "
              f"{api.too_many_requests}")  # fmt: skip
        answered = [x for x in s2 if x is not None]
        ok &= len(answered) == len(s2) and pct(answered, 99) <= 1.0
    finally:
        bot.stop()
    errors = bot.errors()
    print(
        f"\n   ERROR lines in the bot's log: {len(errors)}"
        + (f" (first: {errors[0][:200]})" if errors else "")
    )
    ok &= not errors

    if not args.quick:
        return await capacity_phase(args, api, world, workdir, db_url, parents, ok)
    return await finish(api, workdir, ok)


async def finish(api: FakeBotAPI, workdir: Path, ok: bool) -> int:
    await api.stop()
    print(f"\nload average at the end: {load_average()}")
    print(f"work files (database, logs): {workdir}")
    print("RESULT:", "all targets met" if ok else "some targets NOT met")
    return 0 if ok else 1


async def capacity_phase(  # noqa: PLR0917
    args: argparse.Namespace,
    api: FakeBotAPI,
    world: World,
    workdir: Path,
    db_url: str,
    parents: list[int],
    ok: bool,
) -> int:
    print("\n4. capacity without a rate limit (p99 ≤ 1 s), beside aiogram's empty dispatcher")
    api.rate_limit = None
    rates = [25, 50, 75, 100, 150, 200, 300]
    users = parents[: max(args.steady, 100)]
    results: dict[str, int] = {}
    for name, argv, env in (
        ("aiogram, empty dispatcher", [sys.executable, "-c", BASELINE_BOT], bot_env(api, db_url)),
        # no rate limit on either side: the bot's own pacing (TELEGRAM_RATE) is lifted too
        ("mocbot", [sys.executable, "-m", "bot", "run"], bot_env(api, db_url, UNLIMITED)),
    ):
        print(f"   {name}:")
        api.received.clear()
        proc = BotProcess(argv, env, workdir / f"capacity-{len(results)}.log")
        try:
            await wait_ready(api, proc)
            await asyncio.sleep(1)
            results[name] = sustained(await capacity(world, users, rates, args.capacity_seconds))
        finally:
            proc.stop()
    base, ours = results["aiogram, empty dispatcher"], results["mocbot"]
    share = ours / base if base else float("nan")
    print(f"   sustained: mocbot {ours} updates/s, empty dispatcher {base} updates/s = {share:.2f} "
          "of it (target ≥ 0.25)")  # fmt: skip
    ok &= share >= 0.25
    return await finish(api, workdir, ok)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parents", type=int, default=600)
    parser.add_argument("--steady", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--limit", type=float, default=30.0)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--capacity-seconds", type=float, default=6.0)
    parser.add_argument("--quick", action="store_true", help="skip the capacity phase")
    parser.add_argument("--capacity-only", action="store_true", help="only the capacity phase")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
