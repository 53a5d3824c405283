"""The board against the live service (``tests/e2e``'s) and, for its page, headless Chromium (``tests/desktop``'s)."""

from __future__ import annotations

import signal

import pytest
from sse_starlette.sse import AppStatus

from tests.desktop.conftest import browser  # noqa: F401
from tests.e2e.conftest import live_factory, twilio_emulator_factory  # noqa: F401


@pytest.fixture(autouse=True)
def _no_exited_server_as_signal_handler() -> None:
    """An earlier test's uvicorn server, served on this process's main thread and never awaited to
    its end (the archive receiver's, the outbox's), leaves its ``handle_exit`` as the SIGTERM/SIGINT
    handler. sse-starlette reads that server's ``should_exit`` from the handler and ends every
    stream of this process at once; the handlers go back to the defaults here."""
    defaults = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
    for sig, default in defaults.items():
        if getattr(getattr(signal.getsignal(sig), "__self__", None), "should_exit", False):
            signal.signal(sig, default)
    AppStatus.should_exit = False
