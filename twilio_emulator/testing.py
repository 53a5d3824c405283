"""Test helpers: a webhook receiver (serves TwiML, records every callback) and pytest fixtures.

Use from a ``conftest.py``::

    from twilio_emulator.testing import (  # noqa: F401
        twilio_emulator, twilio_emulator_factory, twilio_receiver, twilio_receiver_server)
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator

from .scenario import Scenario
from .server import BackgroundServer, EmulatorServer

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


@dataclass(frozen=True)
class Received:
    path: str
    url: str  # as requested, the URL the signature covers
    method: str
    params: dict[str, str]
    headers: dict[str, str]

    def signed_by(self, auth_token: str) -> bool:
        params = self.params if self.method == "POST" else {}
        return RequestValidator(auth_token).validate(self.url, params, self.headers.get("x-twilio-signature", ""))


class Receiver(BackgroundServer):
    """Stands in for the service: ``twiml[path]`` answers TwiML fetches; everything is recorded."""

    def __init__(self) -> None:
        self.twiml: dict[str, str] = {}
        self.received: list[Received] = []
        self._lock = threading.Lock()
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def anything(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else request.query_params
            item = Received("/" + request.path_params["path"], str(request.url), request.method,
                            {k: str(v) for k, v in form.items()}, {k.lower(): v for k, v in request.headers.items()})
            with self._lock:
                self.received.append(item)
            return Response(self.twiml.get(item.path, EMPTY_TWIML), media_type="application/xml")

        super().__init__(app)

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.twiml.clear()

    def url_for(self, path: str) -> str:
        return self.url + path

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def wait_for(self, path: str, predicate: Callable[[list[Received]], bool], timeout: float = 5.0) -> list[Received]:
        """Poll until ``predicate(requests at path)`` holds; returns those requests."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.at(path)
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {path}; got {[r.params for r in got]}")
            time.sleep(0.01)

    async def await_for(self, path: str, predicate: Callable[[list[Received]], bool],
                        timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            got = self.at(path)
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting on {path}; got {[r.params for r in got]}")
            await asyncio.sleep(0.01)


def has_status(status: str) -> Callable[[list[Received]], bool]:
    return lambda got: any(r.params.get("CallStatus") == status for r in got)


@pytest.fixture(scope="session")
def twilio_receiver_server() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def twilio_receiver(twilio_receiver_server: Receiver) -> Receiver:
    """The session's receiver, emptied for this test (emulators of earlier tests are stopped by then)."""
    twilio_receiver_server.reset()
    return twilio_receiver_server


@pytest.fixture
def twilio_emulator_factory() -> Iterator[Callable[..., EmulatorServer]]:
    """``start(scenario=None, **scenario_fields)`` → a running EmulatorServer (stopped at teardown)."""
    started: list[EmulatorServer] = []

    def start(scenario: Scenario | dict[str, Any] | None = None, **fields: Any) -> EmulatorServer:
        data = scenario.model_dump() if isinstance(scenario, Scenario) else dict(scenario or {})
        data.setdefault("speed", 100)
        server = EmulatorServer(Scenario.model_validate({**data, **fields})).start()
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def twilio_emulator(twilio_emulator_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    """An emulator at speed 100 where every number answers after 2 s and talks 20 s."""
    return twilio_emulator_factory()
