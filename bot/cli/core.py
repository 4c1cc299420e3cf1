"""Core subcommands: run, console, db, content."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from bot.content import Content, ContentError, load_content
from bot.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

logger = logging.getLogger(__name__)


class CliError(Exception):
    """A problem the operator must fix; printed as `error: ...` with exit code 2."""


class SecretFilter(logging.Filter):
    """Replaces secrets (the bot token) in every log line, exception texts and tracebacks
    included: aiohttp puts the request URL, with the token in it, into its errors."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<BOT_TOKEN>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            formatter = logging.Formatter()
            record.exc_text = self._clean(formatter.formatException(record.exc_info))
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


def setup_logging(level: str, secrets: list[str] | None = None) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    if secrets:
        secret_filter = SecretFilter(secrets)
        for handler in logging.getLogger().handlers:
            handler.addFilter(secret_filter)


def _secrets(settings: Settings) -> list[str]:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    # the whole token and its secret half (after the colon) never reach a log line
    secrets = [token, token.partition(":")[2]] if token else []
    for other in (settings.max_bot_token, settings.max_webhook_secret):  # MAX's token has no colon
        if other is not None and other.get_secret_value():
            secrets.append(other.get_secret_value())
    return secrets


def load_settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise CliError(f"invalid settings: {problems}") from None
    return settings


async def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one session of the migrated database and commit what it changed."""
    from db.engine import create_engine, create_sessionmaker
    from db.migrate import upgrade_async

    await upgrade_async(settings.database_url)
    engine = create_engine(settings.database_url)
    try:
        async with create_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def content_or_fail(
    settings: Settings, directory: Path | None = None, problem: str = "invalid content"
) -> Content:
    """The content under `directory` (default CONTENT_DIR), or a CliError that lists its problems."""
    directory = directory or settings.content_dir
    try:
        return load_content(directory, settings.default_municipality)
    except ContentError as exc:
        raise CliError(f"{problem} in {directory}:\n{exc}") from None


async def _prepare(settings: Settings) -> None:
    from db.migrate import upgrade_async

    await upgrade_async(settings.database_url)


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.max_bot_token is not None and settings.bot_token is None:
        raise CliError(
            "MAX_BOT_TOKEN is set without BOT_TOKEN: staff work in Telegram (hand-offs, answers, "
            "broadcasts), so MAX runs beside the Telegram bot. Set BOT_TOKEN too."
        )
    if settings.bot_token is None:
        # Only a person at a terminal on the embedded database gets the console; a service
        # that lost its token must fail, not turn into a console against production data.
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
        if not interactive or not _is_sqlite(settings.database_url):
            where = "not an interactive terminal" if not interactive else "DATABASE_URL is not SQLite"
            raise CliError(
                f"BOT_TOKEN is not set and the local console is not possible here ({where}). "
                "Set BOT_TOKEN to run the bot, or run `mocbot console` in a terminal."
            )
        print("BOT_TOKEN is not set: opening the local console (SQLite, no network).", file=sys.stderr)
        return cmd_console(args)
    setup_logging(settings.log_level, _secrets(settings))
    content_or_fail(settings, problem="the bot will not start on invalid content")
    asyncio.run(_run_polling(settings))
    return 0


async def _run_polling(settings: Settings, app: Any = None) -> None:
    """Run until stopped (a signal, or `app.dispatcher.stop_polling()`)."""
    from bot.app import create_app

    await _prepare(settings)
    app = app or create_app(settings)
    bot = app.bot()
    dp = app.dispatcher
    if settings.max_bot_token is not None:
        await _start_max(app)
    await bot.delete_webhook(drop_pending_updates=False)
    # Updates beyond `update_concurrency` wait in line: polling reads on as handlers finish.
    await dp.start_polling(
        bot,
        allowed_updates=dp.resolve_used_update_types(),
        tasks_concurrency_limit=settings.update_concurrency,
    )


async def _start_max(app: Any) -> None:
    """MAX beside Telegram in this process: its bot (for the workers), its command menu and its
    inbound updates, by webhook when MAX_WEBHOOK_URL is set, by long polling otherwise. The
    inbound stops first at shutdown, before the workers and the database."""
    from bot.app import set_commands
    from bot.channels.max.polling import MaxPolling

    settings = app.settings
    max_bot = await app.max_bot()
    await set_commands(max_bot, app.content.current)
    users = app.services["users"]
    if settings.max_webhook_url:
        from aiohttp import web

        from bot.channels.max.webhook import max_webhook_handler, subscribe_max_webhook

        if settings.max_webhook_secret is None:
            raise CliError(
                "MAX_WEBHOOK_URL is set but MAX_WEBHOOK_SECRET is empty: MAX must prove its deliveries"
            )
        secret = settings.max_webhook_secret.get_secret_value()
        web_app = web.Application()
        web_app.router.add_post(
            "/max",
            max_webhook_handler(max_bot, app.dispatcher, secret=secret, on_stopped=users.stopped_in_max),
        )
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", settings.max_webhook_port).start()
        await subscribe_max_webhook(max_bot, settings.max_webhook_url, secret=secret)
        logger.info("MAX: webhook on port %d", settings.max_webhook_port)

        app.stop_first.append(runner.cleanup)
        return
    polling = MaxPolling(max_bot, app.dispatcher, on_stopped=users.stopped_in_max)
    await polling.start()
    logger.info("MAX: long polling (set MAX_WEBHOOK_URL for production)")

    app.stop_first.append(polling.stop)


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def cmd_console(args: argparse.Namespace) -> int:
    settings = load_settings()
    setup_logging(getattr(args, "log_level", None) or "WARNING")
    content_or_fail(settings, problem="the bot will not start on invalid content")
    as_admin = bool(getattr(args, "as_admin", False))
    channel = str(getattr(args, "channel", None) or "tg")
    user_id = getattr(args, "user_id", None)
    if channel == "max":  # the person is a MAX parent; staff (`:admin on`) are Telegram user 1001
        asyncio.run(_run_console(settings, as_admin, 1001, channel=channel, max_user_id=user_id))
        return 0
    asyncio.run(_run_console(settings, as_admin, int(user_id or 1001)))
    return 0


async def _run_console(
    settings: Settings, as_admin: bool, user_id: int, *, channel: str = "tg", max_user_id: int | None = None
) -> None:
    from bot.app import create_app
    from bot.console import run_console

    await _prepare(settings)
    # One local person types (or pipes) the input: flood control would only get
    # in the way of scripted sessions (the tests cover throttling).
    settings.throttle_rate, settings.throttle_burst = 1000.0, 1000
    app = create_app(settings)
    if channel == "max":
        from bot.console import DEFAULT_MAX_USER_ID

        await run_console(
            app, as_admin=as_admin, user_id=user_id, channel=channel,
            max_user_id=max_user_id or DEFAULT_MAX_USER_ID,
        )  # fmt: skip
        return
    await run_console(app, as_admin=as_admin, user_id=user_id)


def cmd_db(args: argparse.Namespace) -> int:
    from db import migrate

    settings = load_settings()
    setup_logging(settings.log_level)
    if args.db_command == "upgrade":
        migrate.upgrade(settings.database_url, args.revision)
        print(f"database is at {args.revision}: {_safe_url(settings.database_url)}")
    elif args.db_command == "downgrade":
        migrate.downgrade(settings.database_url, args.revision)
        print(f"database downgraded to {args.revision}")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_content_check(args: argparse.Namespace) -> int:
    settings = load_settings()
    directory = args.dir or settings.content_dir
    try:
        content = load_content(directory, settings.default_municipality)
    except ContentError as exc:
        print(f"content in {directory} has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    parts = [f"{len(content.texts)} texts", f"{len(content.municipalities)} municipalities"]
    for name, section in content.sections.items():
        summary = getattr(section, "summary", None)
        size = len(section) if hasattr(section, "__len__") else 1
        parts.append(f"{name}: {summary() if callable(summary) else size}")
    print(f"content OK ({directory}): " + ", ".join(parts))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from pathlib import Path

    from bot.channels import Channel

    p = sub.add_parser("run", help="run the bot (long polling); without BOT_TOKEN, the local console")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("console", help="chat with the bot in this terminal (no network)")
    p.add_argument("--as-admin", action="store_true", help="act as an admin (staff commands allowed)")
    p.add_argument(
        "--user-id", type=int, default=None,
        help="id of the simulated user: Telegram (default 1001), with --channel max the MAX parent's",
    )  # fmt: skip
    p.add_argument(
        "--channel", choices=[str(c) for c in Channel], default="tg",
        help="the messenger the person writes in: tg (default) or max (a MAX parent; staff stay in Telegram)",
    )  # fmt: skip
    p.add_argument("--log-level", default="WARNING")
    p.set_defaults(handler=cmd_console)

    p = sub.add_parser("db", help="database migrations")
    dbsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations (default: to the newest)")
    up.add_argument("revision", nargs="?", default="heads")
    down = dbsub.add_parser("downgrade", help="revert migrations to REVISION (e.g. base)")
    down.add_argument("revision")
    p.set_defaults(handler=cmd_db)

    p = sub.add_parser("content", help="content tools")
    csub = p.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    chk = csub.add_parser("check", help="validate everything under content/")
    chk.add_argument("--dir", type=Path, default=None, help="content folder (default: CONTENT_DIR)")
    p.set_defaults(handler=cmd_content_check)
