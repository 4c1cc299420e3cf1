"""A local HTTP server on 127.0.0.1 with a random port: the base of the messenger stand-ins
(`bot/local_max_api.py`, the tests' fake Bot API), which differ only in what they route."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Self

from aiohttp import web


class LocalServer(ABC):
    """`async with Stand(...) as api: api.base_url`; subclasses add their routes in `routes`."""

    _runner: web.AppRunner | None = None
    port: int = 0

    @abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the stand-in's routes to `app`."""

    async def start(self) -> None:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
