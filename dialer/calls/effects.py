"""Carrier actions about a call, as values: decided inside a unit of work, carried out after it
commits (``dialer.dialing.carrier_actions``), never half-way (STYLE: side effects after commit)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HangUp:
    call_id: int
    carrier_call_id: str


@dataclass(frozen=True, slots=True)
class RingParty:
    call_id: int


@dataclass(frozen=True, slots=True)
class RingSeat:
    call_id: int


Effect = HangUp | RingParty | RingSeat
