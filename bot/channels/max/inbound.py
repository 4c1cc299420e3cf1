"""MAX updates → aiogram `Update`s, so the one Dispatcher (routers, filters, CallbackData, FSM)
serves MAX people as it serves Telegram ones.

In every translated update the person's `from_user.id` and `chat.id` are the same INTERNAL id
(`bot.channels.internal_id(Channel.MAX, user_id)`, 2**53 and above): the session sends by
`user_id`, never by MAX's dialog `chat_id`, so "a private chat is the person" holds in both
channels and a MAX user can never be mistaken for a Telegram one.

- `message_created` → `Message` (text; a file → `document`, a picture → `photo`, with the text as
  the caption; their file ids download through the session: `bot.download(...)`). Documents
  from parents are passed on as they are: staff (who import catalogues) stay in Telegram, and
  the parent handlers answer a document with their usual "send text" reply.
- `message_callback` → `CallbackQuery(id=callback_id, data=payload, message=<the pressed message>)`;
  the pressed message's mid is remembered so `query.message.edit_text(...)` reaches it.
- `bot_started` → a `/start` message (`/start <payload>` for a deep link `?start=payload`).
- `bot_stopped` → no update; `on_stopped(internal_id)` is called (the app marks the person
  inactive, as a 403 does).
- Anything else (group chats, edits, removals, chat events) → None, logged at DEBUG; the
  poller still advances its marker past it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram.types import CallbackQuery, Chat, Document, Message, PhotoSize, Update, User

from bot.channels import Channel, ForeignIdError, internal_id
from bot.channels.max.render import MessageIds, markup_from_max, message_id_of

if TYPE_CHECKING:
    from aiogram import Bot

    from bot.channels.max.session import MaxSession

logger = logging.getLogger(__name__)

OnStopped = Callable[[int], Awaitable[None] | None]


class MaxInbound:
    """The translator (module docstring). One per MAX bot; shares the session's id maps."""

    def __init__(
        self,
        session: MaxSession | None = None,
        *,
        bot: Bot | None = None,
        on_stopped: OnStopped | None = None,
    ) -> None:
        if session is None and bot is not None:
            from bot.channels.max.session import MaxSession

            if isinstance(bot.session, MaxSession):
                session = bot.session
        self.session = session
        self.bot = bot
        self.ids = session.ids if session is not None else MessageIds()
        self.on_stopped = on_stopped
        self._last_update_id = 0

    # --- the entry points ---------------------------------------------------------------------------
    async def process(self, raw: dict[str, Any]) -> Update | None:
        """Translate one MAX update; a `bot_stopped` calls `on_stopped` and gives None."""
        if raw.get("update_type") == "bot_stopped":
            person = self._person(raw.get("user"))
            if person is not None and self.on_stopped is not None:
                result = self.on_stopped(person)
                if inspect.isawaitable(result):
                    await result
            return None
        return self.translate(raw)

    def translate(self, raw: dict[str, Any]) -> Update | None:
        kind = raw.get("update_type")
        try:
            if kind == "message_created":
                update = self._message_created(raw)
            elif kind == "message_callback":
                update = self._callback(raw)
            elif kind == "bot_started":
                update = self._bot_started(raw)
            else:
                logger.debug("MAX update %s skipped: not translated", kind)
                return None
        except ForeignIdError as exc:
            logger.warning("MAX update %s skipped: %s", kind, exc)
            return None
        except (KeyError, TypeError, ValueError) as exc:
            logger.warning("MAX update %s skipped: malformed (%s: %s)", kind, type(exc).__name__, exc)
            return None
        return update  # Dispatcher.feed_update mounts it (and every nested object) on the bot

    # --- the pieces ---------------------------------------------------------------------------------
    def _next_update_id(self, timestamp: Any) -> int:
        """Increasing ids: the update's time in microseconds, or one above the last id."""
        stamp = int(timestamp) * 1000 if isinstance(timestamp, int | float) else 0
        self._last_update_id = max(self._last_update_id + 1, stamp)
        return self._last_update_id

    @staticmethod
    def _date(timestamp: Any) -> datetime:
        if isinstance(timestamp, int | float):
            return datetime.fromtimestamp(timestamp / 1000, tz=UTC)
        return datetime.now(UTC)

    @staticmethod
    def _person(user: Any) -> int | None:
        if not isinstance(user, dict) or user.get("user_id") is None:
            return None
        return internal_id(Channel.MAX, int(user["user_id"]))

    def _user(self, user: dict[str, Any], locale: Any) -> User:
        person = internal_id(Channel.MAX, int(user["user_id"]))
        return User(
            id=person,
            is_bot=bool(user.get("is_bot")),
            first_name=str(user.get("first_name") or user.get("name") or ""),
            last_name=user.get("last_name"),
            username=user.get("username"),
            language_code=locale if isinstance(locale, str) else None,
        )

    @staticmethod
    def _chat(user: User) -> Chat:
        return Chat(
            id=user.id,
            type="private",
            first_name=user.first_name,
            last_name=user.last_name,
            username=user.username,
        )

    def _remember_dialog(self, person: int, chat_id: Any) -> None:
        if self.session is not None and isinstance(chat_id, int):
            self.session.remember_dialog(person, chat_id)

    def _message_created(self, raw: dict[str, Any]) -> Update | None:
        message = raw["message"]
        sender, recipient = message.get("sender") or {}, message.get("recipient") or {}
        if recipient.get("chat_type", "dialog") != "dialog":
            logger.debug(
                "MAX message in a %s chat skipped: the bot serves dialogs", recipient.get("chat_type")
            )
            return None
        if sender.get("is_bot"):
            return None
        user = self._user(sender, raw.get("user_locale"))
        self._remember_dialog(user.id, recipient.get("chat_id"))
        body = message.get("body") or {}
        text = body.get("text") or None
        document, photo = self._files(body.get("attachments"))
        with_file = document is not None or photo is not None
        update_id = self._next_update_id(message.get("timestamp") or raw.get("timestamp"))
        return Update(
            update_id=update_id,
            message=Message(
                message_id=self.ids.remember(str(body["mid"])),
                date=self._date(message.get("timestamp")),
                chat=self._chat(user),
                from_user=user,
                text=None if with_file else text,
                caption=text if with_file else None,
                document=document,
                photo=photo,
            ),
        )

    def _files(self, attachments: Any) -> tuple[Document | None, list[PhotoSize] | None]:
        document: Document | None = None
        photo: list[PhotoSize] | None = None
        for item in attachments or ():
            if not isinstance(item, dict):
                continue
            payload = item.get("payload") or {}
            token, url = str(payload.get("token") or ""), str(payload.get("url") or "")
            if not token:
                continue
            file_id = (
                self.session.remember_file(token, url) if self.session is not None else f"max:file:{token}"
            )
            if item.get("type") == "file" and document is None:
                document = Document(
                    file_id=file_id,
                    file_unique_id=token,
                    file_name=item.get("filename"),
                    file_size=item.get("size"),
                )
            elif item.get("type") == "image" and photo is None:
                photo = [PhotoSize(file_id=file_id, file_unique_id=token, width=0, height=0)]
        return document, photo

    def _callback(self, raw: dict[str, Any]) -> Update | None:
        callback = raw["callback"]
        user = self._user(callback["user"], raw.get("user_locale"))
        pressed: Message | None = None
        message = raw.get("message")
        if isinstance(message, dict):
            body = message.get("body") or {}
            self._remember_dialog(user.id, (message.get("recipient") or {}).get("chat_id"))
            files = [
                {"type": a["type"], "payload": {"token": a["payload"]["token"]}}
                for a in body.get("attachments") or ()
                if isinstance(a, dict)
                and a.get("type") in {"file", "image"}
                and isinstance(a.get("payload"), dict)
                and a["payload"].get("token")
            ]
            pressed = Message(
                message_id=self.ids.remember(str(body["mid"]), files),
                date=self._date(message.get("timestamp")),
                chat=self._chat(user),
                text=body.get("text") or None,
                reply_markup=markup_from_max(body.get("attachments")),
            )
        return Update(
            update_id=self._next_update_id(callback.get("timestamp") or raw.get("timestamp")),
            callback_query=CallbackQuery(
                id=str(callback["callback_id"]),
                from_user=user,
                chat_instance=str(user.id),
                data=callback.get("payload"),
                message=pressed,
            ),
        )

    def _bot_started(self, raw: dict[str, Any]) -> Update | None:
        user = self._user(raw["user"], raw.get("user_locale"))
        self._remember_dialog(user.id, raw.get("chat_id"))
        payload = raw.get("payload")
        text = f"/start {payload}" if payload else "/start"
        stamp = raw.get("timestamp")
        return Update(
            update_id=self._next_update_id(stamp),
            message=Message(
                # No MAX message behind it: an id of its own, not in the map (nothing to edit).
                message_id=message_id_of(f"bot_started:{user.id}:{stamp}"),
                date=self._date(stamp),
                chat=self._chat(user),
                from_user=user,
                text=text,
            ),
        )
