"""End to end over HTTP: the real `dp.start_polling` against a local fake Bot API."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr

from bot.app import create_app, create_bot
from bot.settings import Settings
from tests.support.fake_api import FakeBotAPI

USER = 5550001


async def test_polling_start_consent_help(settings: Settings) -> None:
    async with FakeBotAPI() as api:
        settings.telegram_api_url = api.base_url
        app = create_app(settings)
        bot = create_bot(settings, token="42:fake-token")
        dp = app.dispatcher
        polling = asyncio.create_task(
            dp.start_polling(
                bot, handle_signals=False, polling_timeout=1, allowed_updates=dp.resolve_used_update_types()
            )
        )
        try:
            api.user_message(USER, "/start")
            # two municipalities: the municipality first, then the consent naming its МОЦ
            await api.wait_for(lambda: any("Зима" in str(r.reply_markup) for r in api.sent(chat_id=USER)))
            choice = next(r for r in api.sent("sendMessage", USER) if "Зима" in str(r.reply_markup))
            data = choice.reply_markup["inline_keyboard"][0][1]["callback_data"]  # type: ignore[index]
            api.press(USER, choice, data)
            await api.wait_for(lambda: any("Согласен" in str(r.reply_markup) for r in api.sent(chat_id=USER)))
            consent = next(r for r in api.sent("sendMessage", USER) if "Согласен" in str(r.reply_markup))
            assert "152-ФЗ" in consent.text and "г. Зимы" in consent.text
            data = consent.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
            api.press(USER, consent, data)
            await api.wait_for(lambda: any(r.method == "answercallbackquery" for r in api.received))
            await api.wait_for(lambda: any("Главное меню" in r.text for r in api.sent("sendMessage", USER)))
            api.user_message(USER, "/help")
            await api.wait_for(lambda: any("/subscribe" in r.text for r in api.sent("sendMessage", USER)))
        finally:
            await dp.stop_polling()
            await asyncio.wait_for(polling, timeout=10)
        methods = {r.method for r in api.received}
        assert {"getme", "getupdates", "sendmessage", "answercallbackquery", "setmycommands"} <= methods
        assert any(r.method == "editmessagereplymarkup" and r.chat_id == USER for r in api.sent())
        greeting = api.sent("sendMessage", USER)[0]
        assert "Здравствуйте" in greeting.text
        await app.engine.dispose()


async def test_one_process_serves_telegram_and_max(settings: Settings) -> None:
    """`mocbot run` with both tokens: Telegram by polling, MAX by long polling beside it, the
    workers of both started; a MAX parent's question reaches the Telegram staff chat."""
    import contextlib

    from bot.cli.core import _run_polling
    from bot.local_max_api import FakeMaxAPI
    from tests.support.client import STAFF_CHAT_ID

    async with FakeBotAPI() as api, FakeMaxAPI(long_poll_cap=0.5) as max_api:
        settings.telegram_api_url = api.base_url
        settings.bot_token = SecretStr("42:fake-token")
        settings.max_bot_token = SecretStr(max_api.token)
        settings.max_api_url = max_api.base_url
        app = create_app(settings)
        running = asyncio.create_task(_run_polling(settings, app))
        try:
            max_api.bot_started(USER)
            await max_api.wait_for(
                lambda: any(m.button_texts() and "Зима" in m.button_texts() for m in max_api.sent(USER)),
                timeout=15,
            )
            max_api.press(USER, max_api.last(USER), text="Зима")
            await max_api.wait_for(lambda: "Согласен" in " ".join(max_api.last(USER).button_texts()))
            max_api.press(USER, max_api.last(USER), text="✅ Согласен")
            await max_api.wait_for(
                lambda: (
                    "Главное меню" in max_api.last(USER).text
                    or "Главное меню" in " ".join(max_api.last(USER).button_texts())
                )
            )
            max_api.user_message(USER, "/ask как записаться на шахматы")
            await api.wait_for(
                lambda: any("шахматы" in r.text for r in api.sent("sendMessage", STAFF_CHAT_ID)), timeout=15
            )
            post = next(r for r in api.sent("sendMessage", STAFF_CHAT_ID) if "шахматы" in r.text)
            assert "пишет в MAX" in post.text
        finally:
            with contextlib.suppress(RuntimeError):  # polling had not started (a failed start)
                await app.dispatcher.stop_polling()
            await asyncio.wait_for(running, timeout=15)
        assert not max_api.refused(), [f"{r.endpoint} {r.status} {r.error}" for r in max_api.refused()]
        assert any(r.endpoint == "PATCH /me/commands" for r in max_api.received)  # the MAX command menu
