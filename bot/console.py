"""The local console: chat with the real dispatcher in a terminal, no network.

Lines typed by a person become updates from a simulated private chat; what the
bot sends is printed, with inline buttons numbered so `#2` presses the second
one; a file the bot sends (a report, a calendar file, a sign-up list) is saved in
CONSOLE_FILES_DIR and its path printed. Lines starting with `:` are console
commands (`:help` lists them).
"""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aiogram import Bot

from bot.app import App
from bot.html import strip_tags
from bot.local_api import LocalBotSession, Sent, UpdateFactory, staff_chat_message

LOCAL_TOKEN = "42:local-console-token"
DEFAULT_USER_ID = 1001
DEFAULT_STAFF_CHAT_ID = -1000000000001

# Features add coroutines run once the console is ready (e.g. load demo data).
__all__ = ["Console", "render_html", "run_console"]

CONSOLE_HELP = """Команды консоли (всё остальное уходит боту как сообщение):
  #N              нажать кнопку N из последнего ответа; # — показать кнопки
  :admin on|off   действовать как администратор (ADMIN_IDS) или как родитель
  :user ID        писать от имени другого пользователя Telegram (число)
  :file PATH      отправить боту документ из файла
  :files [DIR]    куда сохраняются файлы от бота (или сохранять их в DIR)
  :reply ID TEXT  ответить в чате сотрудников на сообщение бота с номером ID
  :wait SEC       подождать SEC секунд (фоновые задачи продолжают работать)
  :help           эта справка
  :quit           выход"""

_A_RE = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.S)


def render_html(text: str) -> str:
    text = _A_RE.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return strip_tags(text)


@dataclass
class Console:
    app: App
    out: TextIO = field(default_factory=lambda: sys.stdout)
    user_id: int = DEFAULT_USER_ID
    session: LocalBotSession = field(default_factory=LocalBotSession)
    buttons: list[tuple[Sent, str, str | None, str | None]] = field(default_factory=list)
    _printed: int = 0
    _answered: int = 0
    bot: Bot | None = None
    factory: UpdateFactory = field(default_factory=UpdateFactory)
    files_dir: Path | None = None  # default: settings.console_files_dir

    @property
    def folder(self) -> Path:
        return (self.files_dir or self.app.settings.console_files_dir).expanduser().resolve()

    def save_file(self, name: str, data: bytes) -> Path:
        """Keep a file the bot sent; a name already there gets «-2», «-3»… (nothing is overwritten)."""
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        base = Path(name).name or "file"
        stem, suffix = Path(base).stem, Path(base).suffix
        path = folder / base
        number = 2
        while path.exists():
            path = folder / f"{stem}-{number}{suffix}"
            number += 1
        path.write_bytes(data)
        return path

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    async def start(self) -> None:
        settings = self.app.settings
        if settings.staff_chat_id is None:
            settings.staff_chat_id = DEFAULT_STAFF_CHAT_ID  # services read it when they use it
        self.factory.user_id = self.user_id
        self.bot = self.app.bot(session=self.session, token=LOCAL_TOKEN)
        dp = self.app.dispatcher
        await dp.emit_startup(bot=self.bot, dispatcher=dp, bots=[self.bot], **dp.workflow_data)
        for part in self.app.parts:
            for hook in part.console_hooks:
                line = await hook(self.app.database, self.app.content.current)
                if line:
                    self.say(line)

    async def stop(self) -> None:
        dp = self.app.dispatcher
        await dp.emit_shutdown(bot=self.bot, dispatcher=dp, bots=[self.bot], **dp.workflow_data)

    # --- output ---------------------------------------------------------------------
    def _where(self, sent: Sent) -> str:
        if sent.chat_id == self.app.settings.staff_chat_id:
            return f"бот → чат сотрудников [сообщение {sent.message_id}]"
        if sent.chat_id != self.user_id:
            return f"бот → пользователь {sent.chat_id}"
        return "бот"

    def flush(self) -> None:
        new = self.session.sent[self._printed :]
        self._printed = len(self.session.sent)
        for answer in self.session.callback_answers[self._answered :]:
            if answer.text:
                self.say(f"бот (всплывающее) › {answer.text}")
        self._answered = len(self.session.callback_answers)
        numbered: list[tuple[Sent, str, str | None, str | None]] = []
        for sent in new:
            prefix = self._where(sent)
            if sent.method == "EditMessageReplyMarkup" and not sent.buttons:
                continue
            if sent.method.startswith("Edit"):
                prefix += f" (изменил сообщение {sent.message_id})"
            if sent.file_name and sent.file_bytes is not None:
                try:
                    where = f" → сохранён: {self.save_file(sent.file_name, sent.file_bytes)}"
                except OSError as exc:
                    where = f" (не удалось сохранить в {self.folder}: {exc.strerror})"
                self.say(f"{prefix} › [файл {sent.file_name}, {len(sent.file_bytes)} байт]{where}")
            elif sent.file_name:  # sent again by its Telegram file id: nothing to save
                self.say(f"{prefix} › [файл {sent.file_name}]")
            if sent.text:
                body = render_html(sent.text).rstrip()
                self.say(f"{prefix} › " + body.replace("\n", "\n    "))
            for text, data, url in sent.buttons:
                numbered.append((sent, text, data, url))
                label = f"   [{len(numbered)}] {text}"
                self.say(label + (f" → {url}" if url else ""))
        if numbered:
            self.buttons = numbered

    # --- input ----------------------------------------------------------------------
    async def send_text(self, text: str) -> None:
        assert self.bot is not None
        update = self.factory.message(text, user_id=self.user_id)
        await self.app.dispatcher.feed_update(self.bot, update)
        await self.app.drain_notices()
        self.flush()

    async def press(self, number: int) -> None:
        assert self.bot is not None
        if not 1 <= number <= len(self.buttons):
            self.say(f"(нет кнопки с номером {number}; # — показать кнопки)")
            return
        sent, text, data, url = self.buttons[number - 1]
        if data is None:
            self.say(f"(кнопка «{text}» открывает ссылку: {url})")
            return
        self.say(f"вы нажали › {text}")
        update = self.factory.callback(sent, data, user_id=self.user_id)
        await self.app.dispatcher.feed_update(self.bot, update)
        await self.app.drain_notices()
        self.flush()

    async def send_file(self, path: Path) -> None:
        assert self.bot is not None
        if not path.is_file():
            self.say(f"(файл не найден: {path})")
            return
        file_id = self.session.register_file(path)
        update = self.factory.message(
            None, user_id=self.user_id, document=(file_id, path.name, path.stat().st_size)
        )
        await self.app.dispatcher.feed_update(self.bot, update)
        await self.app.drain_notices()
        self.flush()

    async def staff_reply(self, message_id: int, text: str) -> None:
        assert self.bot is not None
        chat_id = self.app.settings.staff_chat_id
        sent = self.session.message(chat_id or 0, message_id)
        if sent is None or chat_id is None:
            self.say(f"(в чате сотрудников нет сообщения бота {message_id})")
            return
        update = self.factory.message(
            text, user_id=self.user_id, chat_id=chat_id, reply_to=staff_chat_message(sent)
        )
        await self.app.dispatcher.feed_update(self.bot, update)
        await self.app.drain_notices()
        self.flush()

    async def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        line = line.rstrip("\r\n")
        if not line.strip():
            return True
        if line.startswith("#"):
            rest = line[1:].strip()
            if not rest:
                for i, (_, text, _, url) in enumerate(self.buttons, 1):
                    self.say(f"   [{i}] {text}" + (f" → {url}" if url else ""))
                return True
            if rest.isdigit():
                await self.press(int(rest))
                return True
        if line.startswith(":"):
            return await self.command(line[1:].strip())
        await self.send_text(line)
        return True

    async def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        settings = self.app.settings
        if name in {"quit", "exit", "q"}:
            return False
        if name == "help":
            self.say(CONSOLE_HELP)
        elif name == "admin":
            on = arg.strip() != "off"
            ids = [i for i in settings.admin_ids if i != self.user_id]
            settings.admin_ids = [*ids, self.user_id] if on else ids
            self.say("(вы администратор)" if on else "(вы родитель)")
        elif name == "user" and arg.strip().isdigit():
            self.user_id = int(arg.strip())
            self.say(f"(теперь вы пользователь {self.user_id})")
        elif name == "file" and arg.strip():
            await self.send_file(Path(arg.strip()).expanduser())
        elif name == "files":
            if arg.strip():
                self.files_dir = Path(arg.strip())
            self.say(f"(файлы от бота сохраняются в {self.folder})")
        elif name == "reply":
            msg_id, _, text = arg.strip().partition(" ")
            if msg_id.isdigit() and text.strip():
                await self.staff_reply(int(msg_id), text.strip())
            else:
                self.say("(формат: :reply ID ТЕКСТ)")
        elif name == "wait":
            try:
                await asyncio.sleep(min(float(arg or "1"), 600))
            except ValueError:
                self.say("(формат: :wait СЕКУНДЫ)")
            self.flush()
        else:
            self.say("(неизвестная команда консоли; :help — список)")
        return True


async def run_console(app: App, *, as_admin: bool = False, user_id: int = DEFAULT_USER_ID,
                      stdin: TextIO | None = None, out: TextIO | None = None) -> None:  # fmt: skip
    stdin = stdin or sys.stdin
    console = Console(app, out=out or sys.stdout, user_id=user_id)
    if as_admin:
        app.settings.admin_ids = [*app.settings.admin_ids, user_id]
    interactive = stdin.isatty()
    await console.start()
    if interactive:
        console.say("Локальная консоль mocbot. Напишите /start. Справка по консоли — :help, выход — :quit.")
        console.say(f"Файлы, которые пришлёт бот (отчёты, календарь, списки), сохранятся в {console.folder}")
    try:
        while True:
            if interactive:
                try:
                    line = await asyncio.to_thread(input, "вы › ")
                except EOFError:
                    break
            else:
                line = await asyncio.to_thread(stdin.readline)
                if not line:
                    break
                if line.strip():
                    console.say(f"вы › {line.rstrip()}")
            if not await console.handle(line):
                break
    finally:
        await console.stop()
