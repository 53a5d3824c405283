"""The browser and the live service of ``tests/desktop`` and ``tests/e2e``, for the docs' browser tests."""

from tests.desktop.conftest import browser  # noqa: F401
from tests.e2e.conftest import live_factory, twilio_emulator_factory  # noqa: F401
