"""Telephony: the carrier protocol, its implementations (``twilio_carrier.TwilioCarrier``,
``fake.FakeCarrier``) and the pacing they share. The composition root builds the carrier; the
Twilio adapter lives in its own module so importing this package does not load the SDK."""

from .carrier import (
    TERMINAL_STATUSES,
    CallInfo,
    CallStatus,
    Carrier,
    CarrierError,
    CarrierRateLimited,
    CarrierRejected,
    CarrierUnavailable,
    PlaceCall,
    PlacedCall,
    SupervisorMode,
)
from .pacing import ConcurrencyLimiter, TokenBucket

__all__ = [
    "TERMINAL_STATUSES", "CallInfo", "CallStatus", "Carrier", "CarrierError", "CarrierRateLimited",
    "CarrierRejected", "CarrierUnavailable", "ConcurrencyLimiter", "PlaceCall", "PlacedCall", "SupervisorMode",
    "TokenBucket",
]
