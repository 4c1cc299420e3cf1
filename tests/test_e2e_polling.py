"""End to end over HTTP: the real `dp.start_polling` against a local fake Bot API."""

from __future__ import annotations

import asyncio

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
