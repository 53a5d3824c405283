"""Running the emulator: in the foreground (``serve``, the CLI) or on a background thread with its
own event loop (``EmulatorServer``, for tests — the synchronous twilio SDK blocks its caller, so the
emulator must not share the test's loop)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from .app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, create_emulator
from .engine import Emulator
from .scenario import Scenario, load_scenario

T = TypeVar("T")


def serve(host: str = "127.0.0.1", port: int = 8099, scenario_path: str | Path | None = None,
          account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN, *,
          public_url: str | None = None, log_level: str = "info") -> None:
    """Serve the emulator until interrupted (what ``dialer twilio-emulator`` runs)."""
    app = create_emulator(load_scenario(scenario_path), account_sid=account_sid, auth_token=auth_token,
                          public_url=public_url or f"http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level=log_level)


class _QuickServer(uvicorn.Server):
    """uvicorn polls ``should_exit`` every 0.1 s; this one also wakes up when told to stop."""

    async def main_loop(self) -> None:
        self.wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            try:
                await asyncio.wait_for(self.wake.wait(), 0.1)
            except TimeoutError:
                pass


class BackgroundServer:
    """Any ASGI app on a free loopback port, served by uvicorn on its own thread and loop."""

    def __init__(self, app: FastAPI, *, host: str = "127.0.0.1") -> None:
        self.app = app
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._server = _QuickServer(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._server.serve(sockets=[self._sock]))
        finally:
            self.loop.close()

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._server.should_exit = True
        if self.loop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._server.wake.set)
        self._thread.join(timeout)
        self._sock.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run a coroutine on the server's loop (to touch its state safely) and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class EmulatorServer(BackgroundServer):
    """The emulator on a background thread; ``url`` is its base, ``emulator`` its state."""

    def __init__(self, scenario: Scenario | None = None, *, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN) -> None:
        super().__init__(create_emulator(scenario, account_sid=account_sid, auth_token=auth_token))
        self.account_sid, self.auth_token = account_sid, auth_token
        self.emulator: Emulator = self.app.state.emulator
        self.emulator.public_url = self.url

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        super().start(timeout)
        return self

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def set_scenario(self, scenario: Scenario) -> None:
        async def apply() -> None:
            self.emulator.set_scenario(scenario)

        self.run(apply())

    def redeliver(self, resource_sid: str, *, shuffle: bool = False) -> int:
        """Send a resource's callbacks again (same signatures and idempotency tokens)."""

        async def again() -> int:
            return self.emulator.poster.redeliver(resource_sid, shuffle=shuffle)

        return self.run(again())
