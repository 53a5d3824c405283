"""Fixtures for the emulator's own tests: a receiver standing in for the service, emulators on
background threads, and the real twilio SDK pointed at them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from twilio.rest import Client

from twilio_emulator.sdk_client import emulator_client
from twilio_emulator.server import EmulatorServer
from twilio_emulator.testing import (  # noqa: F401
    twilio_emulator,
    twilio_emulator_factory,
    twilio_receiver,
    twilio_receiver_server,
)

ALL_CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


@pytest.fixture
def client_for() -> Callable[[EmulatorServer], Client]:
    return lambda server: emulator_client(server.url, server.account_sid, server.auth_token)


@pytest.fixture
def sdk(twilio_emulator: EmulatorServer, client_for: Callable[[EmulatorServer], Client]) -> Client:  # noqa: F811
    return client_for(twilio_emulator)
