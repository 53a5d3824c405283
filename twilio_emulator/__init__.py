"""A local Twilio emulator: the subset of Twilio's Voice REST API the dialer uses (Calls,
Conferences, Participants, Recordings and their media), driven by a scenario that says how each
number behaves, posting signed status, conference and recording callbacks.

    python -m twilio_emulator --port 8099 --scenario scenario.json
"""

from .app import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, create_emulator
from .clock import SimClock
from .engine import Emulator
from .scenario import Behaviour, PartyScript, Scenario, load_scenario, parse_scenario
from .server import BackgroundServer, EmulatorServer, serve

__all__ = [
    "DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "BackgroundServer", "Behaviour", "Emulator", "EmulatorServer",
    "PartyScript", "Scenario", "SimClock", "create_emulator", "load_scenario", "parse_scenario", "serve",
]
