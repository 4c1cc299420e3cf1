"""The errors router: log everything, and still answer the user."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot import texts
from bot.keyboards import back_to_menu_keyboard

router = Router(name=__name__)
logger = logging.getLogger(__name__)


@router.error()
async def on_error(event: ErrorEvent) -> bool:
    update = event.update
    logger.exception(
        "error while handling update %s: %s", update.update_id, event.exception, exc_info=event.exception
    )
    try:
        sorry = texts.text("common.error")
        if update.callback_query is not None:
            await update.callback_query.answer(sorry, show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await update.message.answer(sorry, reply_markup=back_to_menu_keyboard())
    except Exception:  # the answer itself may fail (network); the log already has it
        logger.warning("could not tell the user about the error", exc_info=True)
    return True
