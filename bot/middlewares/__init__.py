"""Middlewares, in the order they run: throttling, DB session, user and role,
then (per handler) role guard and consent gate."""

from bot.middlewares.db import DbSessionMiddleware
from bot.middlewares.guards import ConsentGate, RoleGuard
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.middlewares.user import UserMiddleware

__all__ = ["ConsentGate", "DbSessionMiddleware", "RoleGuard", "ThrottlingMiddleware", "UserMiddleware"]
