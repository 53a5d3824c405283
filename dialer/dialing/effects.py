"""Carrier actions decided inside a unit of work and carried out after it commits.

A webhook or a service function returns the actions; the caller runs them once the facts they
follow from are committed (STYLE: side effects after commit). A failed action is logged and
audited, never swallowed; the reconciler settles whatever it leaves behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from dialer.audit import service as audit
from dialer.container import Container
from dialer.telephony.carrier import CarrierError

log = logging.getLogger("dialer.dialing")


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


async def run_effects(container: Container, effects: list[Effect]) -> None:
    if not effects:
        return
    if container.carrier is None:
        log.warning("no carrier configured: %d carrier action(s) not taken: %s", len(effects), effects)
        return
    from dialer.dialing import service

    for effect in effects:
        try:
            if isinstance(effect, HangUp):
                await container.carrier.hang_up(effect.carrier_call_id)
            elif isinstance(effect, RingParty):
                await service.ring_party(container, effect.call_id)
            elif isinstance(effect, RingSeat):
                await service.ring_seat(container, effect.call_id)
        except CarrierError as exc:
            log.warning("call %s: %s failed: %s", effect.call_id, type(effect).__name__, exc)
            async with container.write_sessions() as session:
                await audit.record(session, action="call.carrier_action_failed", entity="call",
                                   entity_id=effect.call_id, effect=type(effect).__name__, error=exc.code,
                                   detail=exc.detail)
                await session.commit()
        except Exception:  # a bug, not an outside failure: logged with its trace, the rest still run
            log.exception("call %s: %s failed", effect.call_id, type(effect).__name__)
