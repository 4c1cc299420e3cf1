"""aiogram routers only: parse the update, call a service, answer."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """All routers in the order they must be tried; catch-alls last."""
    from handlers import (
        announce_staff,
        announcements,
        catalogue,
        catalogue_import,
        errors,
        fallback,
        faq,
        outreach_log,
        outreach_report,
        privacy,
        staff,
        start,
    )

    routers = [
        errors.router,
        start.router,
        privacy.router,
        staff.router,
        # Feature routers: commands, buttons and dialog states ...
        catalogue_import.router,
        announce_staff.router,
        announcements.router,
        outreach_log.router,
        outreach_report.router,
        faq.staff_router,
        faq.replies_router,
        # ... then free text: program searches before the FAQ, which takes all other text.
        catalogue.router,
        faq.router,
        fallback.router,
    ]
    return _detached(routers)


def _detached(routers: list[Router]) -> list[Router]:
    """Let module-level routers join a new Dispatcher.

    aiogram attaches a router to one parent for life; tests and the console build
    a fresh Dispatcher per run, so the link to the previous one is dropped here.
    """
    for router in routers:
        router._parent_router = None
    return routers
