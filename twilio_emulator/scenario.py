"""The scenario: how each number (or agent client) behaves, and how the emulated carrier acts.

A scenario is a JSON (or, when PyYAML is installed, YAML) document::

    {
      "speed": 100,
      "default": {"behaviour": "answer", "ring_seconds": 2, "talk_seconds": 20},
      "numbers": {
        "+8613800000001": {"behaviour": "no_answer"},
        "+8613800000002": {"behaviour": "busy"},
        "client:agent-7": {"behaviour": "answer", "ring_seconds": 1, "hangup_first": "caller"}
      },
      "cps": 1,
      "max_concurrent_requests": 100,
      "duplicate_callbacks": false,
      "shuffle_callbacks": false,
      "fail_rest": false
    }

All durations are *simulated* seconds; ``speed`` compresses them (100 → a 20 s call lasts 0.2 s).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Behaviour(StrEnum):
    ANSWER = "answer"          # rings ring_seconds, answers, talks talk_seconds
    NO_ANSWER = "no_answer"    # rings until the call's Timeout → no-answer
    BUSY = "busy"              # busy signal straight away → busy
    REJECT = "reject"          # rings ring_seconds, then declines → busy
    FAIL = "fail"              # the carrier cannot route it → failed
    VOICEMAIL = "voicemail"    # a machine answers after ring_seconds (AnsweredBy=machine_start)


class PartyScript(BaseModel):
    """What the far end of one call leg does."""

    model_config = ConfigDict(extra="forbid")

    behaviour: Behaviour = Behaviour.ANSWER
    ring_seconds: float = Field(default=2.0, ge=0)
    talk_seconds: float = Field(default=20.0, ge=0)
    # callee: the party hangs up talk_seconds after answering.
    # caller: the party stays until our side ends the call (TwiML, REST, conference end).
    hangup_first: Literal["callee", "caller"] = "callee"


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: PartyScript = Field(default_factory=PartyScript)
    numbers: dict[str, PartyScript] = Field(default_factory=dict)
    speed: float = Field(default=1.0, gt=0)
    cps: float = Field(default=1.0, gt=0)
    max_concurrent_requests: int | None = Field(default=None, ge=1)
    rest_latency_seconds: float = Field(default=0.0, ge=0)  # wall-clock delay of every REST answer
    duplicate_callbacks: bool = False
    shuffle_callbacks: bool = False
    seed: int = 0  # for the shuffle
    # "503": every REST request answers 503/20503; "disconnect": the connection drops mid-answer.
    fail_rest: Literal[False, "503", "disconnect"] = False
    say_seconds_per_char: float = Field(default=0.08, ge=0)  # 0 → <Say> is instant
    play_seconds: float = Field(default=2.0, ge=0)
    media_requires_auth: bool = True

    @field_validator("fail_rest", mode="before")
    @classmethod
    def _true_means_503(cls, value: Any) -> Any:
        return "503" if value is True else value

    def script_for(self, address: str) -> PartyScript:
        """The behaviour of ``address`` (E.164 number or ``client:identity``)."""
        return self.numbers.get(address) or self.numbers.get(address.removeprefix("client:")) or self.default


def parse_scenario(text: str, *, yaml: bool = False) -> Scenario:
    if yaml:
        import yaml as pyyaml  # optional: only needed for YAML scenarios

        return Scenario.model_validate(pyyaml.safe_load(text) or {})
    return Scenario.model_validate(json.loads(text))


def load_scenario(path: str | Path | None) -> Scenario:
    """Read a scenario file (``.json``, or ``.yaml``/``.yml`` when PyYAML is installed)."""
    if path is None:
        return Scenario()
    path = Path(path)
    return parse_scenario(path.read_text(encoding="utf-8"), yaml=path.suffix.lower() in {".yaml", ".yml"})
