"""The board against the live service (``tests/e2e``'s) and, for its page, headless Chromium (``tests/desktop``'s)."""

from __future__ import annotations

from tests.desktop.conftest import browser  # noqa: F401
from tests.e2e.conftest import live_factory, twilio_emulator_factory  # noqa: F401
