"""Middlewares, in the order they run: throttling, user and role (read only), then (per
handler) role guard and consent gate. No middleware opens a database session."""

from bot.middlewares.guards import ConsentGate, RoleGuard
from bot.middlewares.throttling import ThrottlingMiddleware
from bot.middlewares.user import UserMiddleware

__all__ = ["ConsentGate", "RoleGuard", "ThrottlingMiddleware", "UserMiddleware"]
