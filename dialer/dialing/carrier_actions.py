"""The after-commit side of calling, in one place: carrier actions decided inside a unit of work
(``dialer.calls.effects``) carried out once it has committed — ringing the agent's seat, ringing
the party, hanging up a leg — and what placing a leg came to, written in a unit of work of its own
(its carrier id; how it failed; one look at the carrier when the failure is uncertain).

Nothing below the unit of work runs a carrier action itself: service functions, webhooks and jobs
return the actions as values and their caller hands them to :class:`CarrierActions` after commit.
A failed action is logged and audited, never swallowed; the reconciler settles whatever it leaves.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from dialer.audit import service as audit
from dialer.calls import state
from dialer.calls.effects import Effect, HangUp, RingParty, RingSeat
from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call, CallState
from dialer.dialing.carrier_health import CarrierHealth
from dialer.dialing.reconcile import reconcile_one
from dialer.dialing.urls import CallbackUrls, address_of
from dialer.kit.clock import Clock
from dialer.kit.db import is_postgres
from dialer.seats.models import Seat
from dialer.telephony.carrier import Carrier, CarrierError, CarrierUnavailable, PlaceCall

log = logging.getLogger("dialer.dialing")

PARTY_RING_S = 30
SEAT_RING_S = 15


class CarrierActions:
    """Carries out carrier actions after commit. Built once by the composition root with the
    collaborators it uses: the carrier (None when none is configured: actions are logged, not
    taken), the database engine, its reading and writing sessions, the callback URL builder and
    the clock."""

    def __init__(self, *, carrier: Carrier | None, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession],
                 write_sessions: async_sessionmaker[AsyncSession], urls: CallbackUrls, clock: Clock) -> None:
        self.carrier = carrier
        self._engine = engine
        self._reads = sessions  # a read takes no write lock (SQLite: no BEGIN IMMEDIATE)
        self._sessions = write_sessions
        self._urls = urls
        self._clock = clock
        self.health = CarrierHealth()  # down when placing a leg gets no answer; the engine waits for it

    async def run(self, effects: Sequence[Effect]) -> None:
        """Each action in order; a carrier's refusal is audited and the rest still run."""
        if not effects:
            return
        if self.carrier is None:
            log.warning("no carrier configured: %d carrier action(s) not taken: %s", len(effects), effects)
            return
        for effect in effects:
            try:
                if isinstance(effect, HangUp):
                    await self.carrier.hang_up(effect.carrier_call_id)
                elif isinstance(effect, RingParty):
                    await self.ring_party(effect.call_id)
                elif isinstance(effect, RingSeat):
                    await self.ring_seat(effect.call_id)
            except CarrierError as exc:
                log.warning("call %s: %s failed: %s", effect.call_id, type(effect).__name__, exc)
                async with self._sessions() as session:
                    await audit.record(session, action="call.carrier_action_failed", entity="call",
                                       entity_id=effect.call_id, effect=type(effect).__name__, error=exc.code,
                                       detail=exc.detail)
                    await session.commit()
            except Exception:  # a bug, not an outside failure: logged with its trace, the rest still run
                log.exception("call %s: %s failed", effect.call_id, type(effect).__name__)

    async def ring_seat(self, call_id: int, *, call: Call | None = None, softphone: str | None = None) -> None:
        """After the dial committed: place the agent's leg (the seat's softphone). Its TwiML (whisper,
        then the conference) is what later rings the party. The engine passes the call it has just
        committed and the seat's softphone identity it read; others give only the id and they are read."""
        if call is None or softphone is None:
            async with self._reads() as session:
                call = await session.get(Call, call_id)
                seat = await session.get(Seat, call.seat_id) if call is not None and call.seat_id else None
                softphone = seat.softphone_identity if seat is not None else None
        if call is None or softphone is None or call.state is not CallState.REQUESTED:
            return
        request = PlaceCall(
            call_ref=str(call.id), to_e164=address_of(softphone), from_e164=call.from_e164 or "",
            twiml_url=self._urls("voice/agent", call_id=call.id),
            status_callback_url=self._urls("call-status", call_id=call.id, leg="agent"),
            record=False, timeout_s=SEAT_RING_S,
        )
        await self._place(call, request, leg="agent")

    async def ring_party(self, call_id: int) -> None:
        """After the agent's leg fetched its TwiML (and the call moved to dialing): place the party's
        leg, recorded in two channels from the answer."""
        async with self._reads() as session:
            call = await session.get(Call, call_id)
        if call is None or call.state is not CallState.DIALING or call.carrier_call_id is not None:
            return
        request = PlaceCall(
            call_ref=str(call.id), to_e164=call.to_e164 or "", from_e164=call.from_e164 or "",
            twiml_url=self._urls("voice/party", call_id=call.id),
            status_callback_url=self._urls("call-status", call_id=call.id, leg="party"),
            recording_callback_url=self._urls("recording-status", call_id=call.id),
            record=True, timeout_s=PARTY_RING_S,
        )
        await self._place(call, request, leg="party")

    async def _place(self, call: Call, request: PlaceCall, *, leg: str) -> None:
        assert self.carrier is not None
        now = self._clock()
        try:
            placed = await self.carrier.place_call(request)
        except CarrierError as exc:
            self.health.failed(exc)
            uncertain = isinstance(exc, CarrierUnavailable) and exc.uncertain
            log.warning("call %s: placing the %s leg failed (%s%s)", call.id, leg, exc.code,
                        ", uncertain" if uncertain else "")
            await self._record_failure(call.id, leg=leg, error=exc, uncertain=uncertain, at=now)
            if uncertain:
                await self.reconcile(call.id)
            return
        if not self.health.up:
            self.health.answered()
        await self._record_placed(call.id, leg=leg, sid=placed.carrier_call_id)

    async def _record_placed(self, call_id: int, *, leg: str, sid: str) -> None:
        """HOT PATH (bench/dialer.py). A leg is placed: its carrier id written in one statement of its
        own (on PostgreSQL with no transaction around it: no BEGIN, no COMMIT); a call that ended
        while the leg was being placed has it hung up, as it must not ring on."""
        if is_postgres(self._engine):
            async with self._engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                current = await state.record_leg_id(connection, call_id, leg=leg, sid=sid)
        else:
            async with self._sessions() as session:
                current = await state.record_leg_id(await session.connection(), call_id, leg=leg, sid=sid)
                await session.commit()
        if current is not None and current in ENDS:
            await self.run([HangUp(call_id, sid)])

    async def _record_failure(
        self, call_id: int, *, leg: str, error: CarrierError, uncertain: bool, at: dt.datetime,
    ) -> None:
        """In its own unit of work: how placing a leg failed. A certain failure ends the call (its
        party never rung); an uncertain one is noted and left for the reconciler."""
        effects: list[Effect] = []
        async with self._sessions() as session:
            call = await session.get(Call, call_id, with_for_update=True)
            if call is None:
                return
            if uncertain:
                call.error_code = error.code
                call.error_detail = f"{leg} leg: {error.detail} (uncertain: reconciling)"
            else:  # the seat's leg not placed because the carrier did not answer is no fault of the seat's
                effects = await state.end(
                    session, call, CallState.FAILED, at=at, placed=False,
                    seat_answered=leg != "agent" or isinstance(error, CarrierUnavailable),
                    error=str(error.carrier_code or error.code), detail=f"{leg} leg: {error.detail}",
                )
            await session.commit()
        await self.run(effects)

    async def reconcile(self, call_id: int) -> None:
        """Right after an uncertain placement: one look at the carrier, in a unit of work of its own."""
        if self.carrier is None:
            return
        async with self._sessions() as session:
            call = await session.get(Call, call_id, with_for_update=True)
            if call is None:
                return
            try:
                effects = await reconcile_one(session, self.carrier, call, now=self._clock())
            except CarrierError as exc:
                log.warning("call %s: reconciling failed (%s); the job tries again", call_id, exc)
                return
            await session.commit()
        await self.run(effects)
