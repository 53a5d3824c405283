from __future__ import annotations

import pytest
from pydantic import SecretStr

TWILIO_TOKEN = "webhook-test-auth-token-0123456789"
PUBLIC = "https://dialer.example.com"


@pytest.fixture
def settings(settings):
    """The app under test is reachable at a public URL (behind a proxy) and knows Twilio's token."""
    return settings.model_copy(update={"twilio_auth_token": SecretStr(TWILIO_TOKEN), "public_base_url": PUBLIC})
