"""The local console: scripted from stdin, through the real command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.app import App
from bot.console import Console, MaxConsole, render_html, run_console
from bot.settings import PROJECT_ROOT
from tests.support.client import ADMIN_ID


def test_console_from_stdin_shows_greeting_and_consent_button(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": "",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
        "ADMIN_IDS": "",
        "STAFF_CHAT_ID": "",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="/start\n#1\n#1\n",  # /start, Саянск, «Согласен»
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Здравствуйте" in out
    assert "[1] Саянск" in out and "[1] ✅ Согласен" in out
    assert "Согласие сохранено" in out


def test_run_without_token_fails_loudly_outside_a_terminal(tmp_path: Path) -> None:
    """A service that lost its token exits non-zero instead of becoming a console."""
    db_file = tmp_path / "live.sqlite3"
    env = {**os.environ, "BOT_TOKEN": "", "DATABASE_URL": f"sqlite+aiosqlite:///{db_file}"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "BOT_TOKEN is not set" in result.stderr and "not an interactive terminal" in result.stderr
    assert not db_file.exists()  # nothing was created, no demo catalogue loaded


async def test_console_buttons_files_admin_and_staff_reply(app: App, tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(app, out=out)
    await console.start()
    try:
        await console.handle("/start")
        await console.handle("#2")  # Зима
        await console.handle("#1")  # «Согласен»
        assert "опорный центр г. Зимы" in out.getvalue() and "Согласие сохранено" in out.getvalue()
        await console.handle("#99")
        assert "нет кнопки с номером 99" in out.getvalue()
        await console.handle("/staff list")
        assert "только сотрудникам" in out.getvalue()
        await console.handle(":admin on")
        await console.handle("/staff list")
        assert "Сотрудники и администраторы" in out.getvalue()
        doc = tmp_path / "file.txt"
        doc.write_text("hello")
        await console.handle(f":file {doc}")
        await console.handle(":file /no/such/file")
        assert "файл не найден" in out.getvalue()
        await console.handle(":reply 1 text")
        assert "нет сообщения бота" in out.getvalue()
        await console.handle(":frobnicate")
        assert "неизвестная команда консоли" in out.getvalue()
        assert await console.handle(":quit") is False
    finally:
        await console.stop()


async def test_run_console_reads_piped_lines(app: App) -> None:
    out = io.StringIO()
    await run_console(app, as_admin=True, user_id=ADMIN_ID, stdin=io.StringIO("/help\n:quit\n"), out=out)
    text = out.getvalue()
    assert "вы › /help" in text and "/staff add" in text


def test_render_html_keeps_links_readable() -> None:
    assert (
        render_html('<b>Сайт</b>: <a href="https://x.ru">тут</a> &amp; всё')
        == "Сайт: тут (https://x.ru) & всё"
    )


async def test_files_the_bot_sends_are_kept_in_a_folder_and_their_path_printed(
    app: App, tmp_path: Path
) -> None:
    from tests.support.outreach_helpers import log_bataysk

    app.settings.console_files_dir = tmp_path / "files"
    await log_bataysk(app.database)
    out = io.StringIO()
    console = Console(app, out=out, user_id=ADMIN_ID)
    app.settings.admin_ids = [ADMIN_ID]
    await console.start()
    try:
        await console.handle("/report 2025")
        first = tmp_path / "files" / "otchet-moc-2025.xlsx"
        assert (
            f"[файл otchet-moc-2025.xlsx, {first.stat().st_size} байт] → сохранён: {first}" in out.getvalue()
        )
        assert first.read_bytes()[:2] == b"PK" and (tmp_path / "files" / "otchet-moc-2025.png").is_file()
        await console.handle("/report 2025")  # a second copy never overwrites the first
        assert f"сохранён: {tmp_path / 'files' / 'otchet-moc-2025-2.xlsx'}" in out.getvalue()
        await console.handle(f":files {tmp_path / 'other'}")
        assert f"(файлы от бота сохраняются в {tmp_path / 'other'})" in out.getvalue()
        await console.handle("/report 2025")
        assert (tmp_path / "other" / "otchet-moc-2025.xlsx").is_file()
    finally:
        await console.stop()


def test_the_console_says_where_files_go_and_takes_the_folder_from_the_environment(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": "",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'console.sqlite3'}",
        "ADMIN_IDS": "",
        "STAFF_CHAT_ID": "",
        "CONSOLE_FILES_DIR": str(tmp_path / "saved"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--as-admin"],
        input="/start\n#1\n#1\n/events\n/report 2025\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"сохранён: {tmp_path / 'saved' / 'otchet-moc-2025.xlsx'}" in result.stdout
    assert (tmp_path / "saved" / "otchet-moc-2025.png").is_file()


def test_console_channel_max_parses_and_tg_stays_the_default() -> None:
    from bot.cli import build_parser
    from bot.cli.core import cmd_console

    args = build_parser().parse_args(["console", "--channel", "max"])
    assert args.channel == "max" and args.handler is cmd_console and args.user_id is None
    assert build_parser().parse_args(["console"]).channel == "tg"


async def test_a_scripted_max_console_session(app: App, tmp_path: Path) -> None:
    """The person is a MAX parent: /start (MAX's «Начать»), the municipality, consent, a FAQ
    question, a button by number, /ask reaching the staff chat in Telegram, :reply, and the
    answer arriving in MAX."""
    app.settings.console_files_dir = tmp_path / "files"
    script = "\n".join(
        [
            "/start",
            "#2",  # Зима
            "#1",  # «Согласен»
            "Что делать с сертификатом?",
            "#1",  # «Что такое сертификат»
            "/staff list",
            "/ask Можно ли записаться в два кружка?",
            ":reply 1000 Да, можно.",
            ":quit",
        ]
    )
    out = io.StringIO()
    await run_console(app, channel="max", stdin=io.StringIO(script + "\n"), out=out)
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("Консоль mocbot в режиме MAX: вы родитель в MAX (пользователь 5550001)")
    assert "бот › Здравствуйте!" in text  # bot_started, answered through MAX
    assert "   [2] Зима" in text and "вы нажали › Зима" in text
    assert "бот (всплывающее) › Согласие сохранено" in text and "опорный центр г. Зимы" in text
    assert "бот › Что вы хотите узнать о сертификате?" in text
    assert "вы нажали › Что такое сертификат" in text
    assert "бот › Что такое сертификат дополнительного образования" in text  # MAX HTML rendered
    assert "<b>" not in text
    # staff commands: the parent is refused and told staff work in Telegram
    assert "бот › Эта команда доступна только сотрудникам МОЦ." in text
    assert "сотрудники работают в Telegram" in text and "без --channel max" in text
    # the hand-off reaches the staff chat (Telegram), named as a MAX parent
    handoff = text.index("бот → чат сотрудников [сообщение 1000] › ❓ Вопрос родителя №1")
    assert "(пишет в MAX)" in text[handoff:]
    assert text.index("бот › Спасибо! Вопрос передан специалисту") < handoff
    # the staff answer is confirmed in the staff chat and arrives to the MAX parent
    reply = text.index("вы › :reply 1000 Да, можно.")
    assert "бот → чат сотрудников [сообщение 1001] › ✅ Ответ отправлен родителю" in text[reply:]
    answer = text[reply:]
    assert "бот › 💬 Ответ специалиста МОЦ на ваш вопрос «Можно ли записаться в два кружка?»" in answer
    assert "Да, можно." in answer and "] ↩️ Ответить специалисту" in answer
    assert "MAX отказал" not in text


async def test_the_max_console_prints_a_refusal_and_carries_on_and_switches_to_staff(app: App) -> None:
    out = io.StringIO()
    console = MaxConsole(app, out=out)
    await console.start()
    try:
        assert console.side is not None and console.side.api.html_strict
        await console.handle("/start")
        console.side.api.inject(400, "proto.payload", "text: too long", endpoint="POST /messages")
        await console.handle("#1")  # the next message the bot sends is refused
        assert "(MAX отказал: 400 proto.payload: text: too long — POST /messages)" in out.getvalue()
        await console.handle("/start")  # the console goes on
        assert out.getvalue().count("бот › Здравствуйте!") == 2
        await console.handle(":admin on")
        assert "дальше вы сотрудник в Telegram, пользователь 1001" in out.getvalue()
        await console.handle("/staff list")
        assert "бот → вы в Telegram › Сотрудники и администраторы" in out.getvalue()
        await console.handle(":admin off")
        await console.handle(":help")
        assert "(вы родитель в MAX, пользователь 5550001)" in out.getvalue()
        assert "Режим MAX: вы родитель в MAX" in out.getvalue()
        await console.handle("#99")
        assert "нет кнопки с номером 99" in out.getvalue()
    finally:
        await console.stop()
