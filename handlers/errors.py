"""The errors router: log everything, and still answer the user."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

router = Router(name=__name__)
logger = logging.getLogger(__name__)

SORRY = (
    "Извините, что-то пошло не так, и я не смог обработать сообщение. "
    "Попробуйте ещё раз чуть позже или напишите /menu."
)


@router.error()
async def on_error(event: ErrorEvent) -> bool:
    update = event.update
    logger.exception(
        "error while handling update %s: %s", update.update_id, event.exception, exc_info=event.exception
    )
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY, show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await update.message.answer(SORRY)
    except Exception:  # the answer itself may fail (network); the log already has it
        logger.warning("could not tell the user about the error", exc_info=True)
    return True
