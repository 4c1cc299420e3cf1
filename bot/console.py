"""The local console: chat with the real dispatcher in a terminal, no network.

Lines typed by a person become updates from a simulated private chat; what the
bot sends is printed, with inline buttons numbered so `#2` presses the second
one; a file the bot sends (a report, a calendar file, a sign-up list) is saved in
CONSOLE_FILES_DIR and its path printed. Lines starting with `:` are console
commands (`:help` lists them).
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from aiogram import Bot

from bot import texts
from bot.app import App
from bot.channels import Channel
from bot.channels.max.local import LocalMax, MaxUser, local_max
from bot.html import strip_tags
from bot.local_api import LocalBotSession, Sent, UpdateFactory, staff_chat_message
from bot.local_max_api import StoredMessage

LOCAL_TOKEN = "42:local-console-token"
DEFAULT_USER_ID = 1001
DEFAULT_STAFF_CHAT_ID = -1000000000001
DEFAULT_MAX_USER_ID = 5_550_001  # the parent's MAX user id (the MAX stand-in's numbering)
CHANNELS = tuple(Channel)

# Features add coroutines run once the console is ready (e.g. load demo data).
__all__ = ["Console", "MaxConsole", "render_html", "run_console"]

_COMMON_HELP = """  :file PATH      отправить боту документ из файла
  :files [DIR]    куда сохраняются файлы от бота (или сохранять их в DIR)
  :reply ID TEXT  ответить в чате сотрудников на сообщение бота с номером ID
  :wait SEC       подождать SEC секунд (фоновые задачи продолжают работать)
  :help           эта справка
  :quit           выход"""

CONSOLE_HELP = f"""Команды консоли (всё остальное уходит боту как сообщение):
  #N              нажать кнопку N из последнего ответа; # — показать кнопки
  :admin on|off   действовать как администратор (ADMIN_IDS) или как родитель
  :user ID        писать от имени другого пользователя Telegram (число)
{_COMMON_HELP}"""

MAX_CONSOLE_HELP = f"""Режим MAX: вы родитель в MAX, сотрудники работают в Telegram.
Команды консоли (всё остальное уходит боту как ваше сообщение в MAX; /start — кнопка «Начать»):
  #N              нажать кнопку N из последнего ответа; # — показать кнопки
  :admin on|off   on — дальше вы сотрудник в Telegram (команды сотрудников); off — снова родитель в MAX
  :user ID        писать от имени другого пользователя MAX (число)
{_COMMON_HELP}"""

STAFF_IN_TELEGRAM = (
    "(сотрудники работают в Telegram, а здесь вы родитель в MAX. Команды сотрудников — "
    ":admin on (дальше вы сотрудник в Telegram) или консоль без --channel max: mocbot console --as-admin)"
)

_A_RE = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.S)


def button_line(number: int, text: str, url: str | None) -> str:
    return f"   [{number}] {text}" + (f" → {url}" if url else "")


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
        self._show_answers()
        numbered = self._show_sent(new)
        if numbered:
            self.buttons = numbered

    def _show_answers(self) -> None:
        for answer in self.session.callback_answers[self._answered :]:
            if answer.text:
                self.say(f"бот (всплывающее) › {answer.text}")
        self._answered = len(self.session.callback_answers)

    def _show_file(self, prefix: str, name: str, data: bytes | None) -> None:
        if data is None:  # sent again by its Telegram file id: nothing to save
            self.say(f"{prefix} › [файл {name}]")
            return
        try:
            where = f" → сохранён: {self.save_file(name, data)}"
        except OSError as exc:
            where = f" (не удалось сохранить в {self.folder}: {exc.strerror})"
        self.say(f"{prefix} › [файл {name}, {len(data)} байт]{where}")

    def _show_text(self, prefix: str, text: str) -> None:
        body = render_html(text).rstrip()
        self.say(f"{prefix} › " + body.replace("\n", "\n    "))

    def _show_sent(self, new: list[Sent], first: int = 1) -> list[tuple[Sent, str, str | None, str | None]]:
        """Print what the Telegram bot sent; its buttons are numbered from `first`."""
        numbered: list[tuple[Sent, str, str | None, str | None]] = []
        for sent in new:
            prefix = self._where(sent)
            if sent.method == "EditMessageReplyMarkup" and not sent.buttons:
                continue
            if sent.method.startswith("Edit"):
                prefix += f" (изменил сообщение {sent.message_id})"
            if sent.file_name:
                self._show_file(prefix, sent.file_name, sent.file_bytes)
            if sent.text:
                self._show_text(prefix, sent.text)
            for text, data, url in sent.buttons:
                numbered.append((sent, text, data, url))
                self.say(button_line(first + len(numbered) - 1, text, url))
        return numbered

    async def settled(self) -> None:
        """After an update was handled: the notices it queued go out, then everything is shown."""
        await self.app.drain_notices()
        self.flush()

    # --- input ----------------------------------------------------------------------
    async def send_text(self, text: str) -> None:
        assert self.bot is not None
        update = self.factory.message(text, user_id=self.user_id)
        await self.app.dispatcher.feed_update(self.bot, update)
        await self.settled()

    def show_buttons(self) -> None:
        for i, (_, text, _, url) in enumerate(self.buttons, 1):
            self.say(button_line(i, text, url))

    async def press(self, number: int) -> None:
        assert self.bot is not None
        if not 1 <= number <= len(self.buttons):
            self.say(f"(нет кнопки с номером {number}; # — показать кнопки)")
            return
        await self._press_telegram(*self.buttons[number - 1])

    async def _press_telegram(self, sent: Sent, text: str, data: str | None, url: str | None) -> None:
        assert self.bot is not None
        if data is None:
            self.say(f"(кнопка «{text}» открывает ссылку: {url})")
            return
        self.say(f"вы нажали › {text}")
        update = self.factory.callback(sent, data, user_id=self.user_id)
        await self.app.dispatcher.feed_update(self.bot, update)
        await self.settled()

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
        await self.settled()

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
        await self.settled()

    async def handle(self, line: str) -> bool:
        """Handle one input line; False means quit."""
        line = line.rstrip("\r\n")
        if not line.strip():
            return True
        if line.startswith("#"):
            rest = line[1:].strip()
            if not rest:
                self.show_buttons()
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


@dataclass
class _Button:
    """A numbered button of either messenger: `press` is None for a link."""

    text: str
    url: str | None
    press: Callable[[], Awaitable[None]] | None


def _short_mid(mid: str) -> str:
    """`mid.<chat>.0000000012` → `12`: the stand-in's message number, enough to tell messages apart."""
    tail = mid.rsplit(".", 1)[-1]
    return str(int(tail)) if tail.isdigit() else mid


@dataclass
class MaxConsole(Console):
    """The console as a MAX parent: lines go to the in-process MAX stand-in as the parent's
    messages, the bot answers through its MAX bot, and what the stand-in stored for the parent
    is printed (MAX's rendering). Staff stay in Telegram: the staff chat is printed as in the
    Telegram console, and the Telegram person (`user_id`, an admin) is staff: `:reply` answers
    as them, and after `:admin on` every line is theirs until `:admin off`. A button is pressed
    by whoever it was shown to: the MAX parent, or the staff member in Telegram."""

    max_user: int = DEFAULT_MAX_USER_ID
    staff: bool = False  # typing as staff in Telegram instead of as the MAX parent
    side: LocalMax | None = None
    person: MaxUser | None = None
    numbered: list[_Button] = field(default_factory=list)
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)
    _seen: dict[str, tuple[int, str]] = field(default_factory=dict)  # mid → (edits, text) shown
    _max_answers: int = 0
    _refused: int = 0

    async def start(self) -> None:
        # Before the startup: the notice and broadcast workers started there learn the MAX bot.
        self.side = await self._stack.enter_async_context(local_max(self.app, html_strict=True))
        self.person = MaxUser(self.side, self.max_user)
        settings = self.app.settings
        if self.user_id not in settings.admin_ids:  # the Telegram side of this console is staff
            settings.admin_ids = [*settings.admin_ids, self.user_id]
        await super().start()

    async def stop(self) -> None:
        try:
            await super().stop()
        finally:
            await self._stack.aclose()

    # --- output ---------------------------------------------------------------------
    def _where(self, sent: Sent) -> str:
        if sent.chat_id == self.user_id and sent.chat_id != self.app.settings.staff_chat_id:
            return "бот → вы в Telegram"
        return super()._where(sent)

    def _where_max(self, message: StoredMessage) -> str:
        if message.user_id == self.max_user:
            return "бот"
        return f"бот → пользователь MAX {message.user_id}"

    def flush(self) -> None:
        assert self.side is not None
        api = self.side.api
        buttons: list[_Button] = []
        for answer in api.answers[self._max_answers :]:
            if answer.get("notification"):
                self.say(f"бот (всплывающее) › {answer['notification']}")
        self._max_answers = len(api.answers)
        for message in api.sent():
            buttons += self._show_max(message)
        for refusal in api.refused()[self._refused :]:
            self.say(f"(MAX отказал: {refusal.status} {refusal.error} — {refusal.endpoint})")
        self._refused = len(api.refused())
        new = self.session.sent[self._printed :]
        self._printed = len(self.session.sent)
        self._show_answers()
        for sent, text, data, url in self._show_sent(new, first=len(buttons) + 1):
            press = None if data is None else self._telegram_press(sent, text, data, url)
            buttons.append(_Button(text, url, press))
        if buttons:
            self.numbered = buttons

    def _show_max(self, message: StoredMessage) -> list[_Button]:
        """Print a message of the MAX dialog if it is new or was edited since it was shown."""
        shown = self._seen.get(message.mid)
        if shown is not None and shown[0] == message.edits:
            return []
        self._seen[message.mid] = (message.edits, message.text)
        prefix = self._where_max(message)
        if shown is not None:
            if shown[1] == message.text and not message.keyboard:
                return []  # only the buttons were taken away, as the Telegram console skips it
            prefix += f" (изменил сообщение {_short_mid(message.mid)})"
        assert self.person is not None
        for name, data in self.person.files(message):
            self._show_file(prefix, name or "file", data)
        if message.text:
            text = message.text if message.format == "html" else html.escape(message.text, quote=False)
            self._show_text(prefix, text)
        buttons: list[_Button] = []
        for row in message.keyboard:
            for button in row:
                label = str(button.get("text"))
                url = str(button["url"]) if button.get("type") == "link" else None
                press = self._max_press(message, label) if button.get("type") == "callback" else None
                buttons.append(_Button(label, url, press))
                self.say(button_line(len(buttons), label, url))
        return buttons

    def show_buttons(self) -> None:
        for i, button in enumerate(self.numbered, 1):
            self.say(button_line(i, button.text, button.url))

    async def settled(self) -> None:
        """Show the answers, then let the notice worker send what the handlers queued (a hand-off
        to the staff chat, a staff answer to MAX), let MAX deliver it and show that too."""
        assert self.side is not None
        await self.side.settle()
        self.flush()
        await self.app.drain_notices()
        await self.side.settle()
        self.flush()

    # --- input ----------------------------------------------------------------------
    def _max_press(self, message: StoredMessage, label: str) -> Callable[[], Awaitable[None]]:
        async def press() -> None:
            assert self.side is not None
            self.side.api.press(message.user_id or self.max_user, message, text=label)
            await self.settled()

        return press

    def _telegram_press(
        self, sent: Sent, text: str, data: str, url: str | None
    ) -> Callable[[], Awaitable[None]]:
        async def press() -> None:
            await self._press_telegram(sent, text, data, url)

        return press

    async def press(self, number: int) -> None:
        if not 1 <= number <= len(self.numbered):
            self.say(f"(нет кнопки с номером {number}; # — показать кнопки)")
            return
        button = self.numbered[number - 1]
        if button.press is None:
            self.say(f"(кнопка «{button.text}» открывает ссылку: {button.url})")
            return
        self.say(f"вы нажали › {button.text}")
        await button.press()

    async def send_text(self, text: str) -> None:
        if self.staff:
            await super().send_text(text)
            return
        assert self.side is not None
        before = len(self.side.api.sent(self.max_user))
        if text.strip() == "/start":
            self.side.api.bot_started(self.max_user)
        else:
            self.side.api.user_message(self.max_user, text)
        await self.settled()
        if text.startswith("/") and self._refused_as_parent(self.side.api.sent(self.max_user)[before:]):
            self.say(STAFF_IN_TELEGRAM)

    @staticmethod
    def _refused_as_parent(messages: list[StoredMessage]) -> bool:
        refusals = {render_html(texts.text(key)) for key in ("common.staff_only", "common.admin_only")}
        return any(render_html(m.text).strip() in refusals for m in messages)

    async def send_file(self, path: Path) -> None:
        if self.staff:
            await super().send_file(path)
            return
        if not path.is_file():
            self.say(f"(файл не найден: {path})")
            return
        assert self.side is not None
        self.side.api.user_file(self.max_user, path.name, path.read_bytes())
        await self.settled()

    async def command(self, line: str) -> bool:
        name, _, arg = line.partition(" ")
        if name == "help":
            self.say(MAX_CONSOLE_HELP)
        elif name == "admin":
            self.staff = arg.strip() != "off"
            if self.staff:
                self.say(
                    f"(сотрудники работают в Telegram: дальше вы сотрудник в Telegram, пользователь "
                    f"{self.user_id}; :admin off — снова родитель в MAX)"
                )
            else:
                self.say(f"(вы родитель в MAX, пользователь {self.max_user})")
        elif name == "user" and arg.strip().isdigit():
            if self.staff:
                return await super().command(line)
            assert self.side is not None
            self.max_user = int(arg.strip())
            self.person = MaxUser(self.side, self.max_user)
            self.say(f"(теперь вы пользователь MAX {self.max_user})")
        else:
            return await super().command(line)
        return True

    def banner(self) -> str:
        return (
            f"Консоль mocbot в режиме MAX: вы родитель в MAX (пользователь {self.max_user}), бот отвечает "
            "через MAX, сотрудники работают в Telegram (чат сотрудников печатается как в Telegram-консоли)."
        )


async def run_console(app: App, *, as_admin: bool = False, user_id: int = DEFAULT_USER_ID,
                      stdin: TextIO | None = None, out: TextIO | None = None, channel: str = "tg",
                      max_user_id: int = DEFAULT_MAX_USER_ID) -> None:  # fmt: skip
    """The console as a Telegram user (`channel="tg"`) or as a MAX parent (`"max"`, staff still
    in Telegram as `user_id`)."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    if channel not in CHANNELS:
        raise ValueError(f"channel {channel!r}: one of {', '.join(CHANNELS)}")
    console = (
        MaxConsole(app, out=out, user_id=user_id, max_user=max_user_id)
        if channel == "max"
        else Console(app, out=out, user_id=user_id)
    )
    if as_admin:
        app.settings.admin_ids = [*app.settings.admin_ids, user_id]
    if isinstance(console, MaxConsole):
        console.say(console.banner())
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
