"""aiogram routers only: parse the update, call a service, answer."""

from __future__ import annotations

from aiogram import Router


def get_routers() -> list[Router]:
    """All routers in the order they must be tried; catch-alls last."""
    from handlers import errors, fallback, privacy, staff, start
    from handlers.catalogue import router as catalogue_router
    from handlers.catalogue_import import router as catalogue_import_router
    from handlers import announce_staff, announcements, errors, fallback, privacy, staff, start
    from handlers import errors, fallback, outreach_log, outreach_report, privacy, staff, start
    from handlers import errors, fallback, faq, privacy, staff, start

    routers = [
        errors.router,
        start.router,
        privacy.router,
        staff.router,
        # Feature routers go here, before the fallback.
        catalogue_import_router,
        # Free-text program search must stay before the FAQ router (all other free text).
        catalogue_router,
        announce_staff.router,
        announcements.router,
        outreach_log.router,
        outreach_report.router,
        faq.staff_router,
        faq.replies_router,
        faq.router,  # all other private-chat free text: keep it just before the fallback
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
