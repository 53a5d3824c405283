"""The legs' SIP signalling: the B2BUA's endpoint, and each leg's INVITE as a sequence of steps.

A seat's leg goes to the edge (Kamailio finds the registered softphone); a party's leg goes to
the trunk (through the edge, or straight to it), with the trunk's digest credentials, which the
endpoint answers itself (401 and 407, CSeq incremented — RFC 3261 §22.2). The far end's BYE is
told to the carrier by the leg's id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from dialer.telephony.sip.config import SipConfig
from dialer.telephony.sip.dialog import Dialog, DialogId
from dialer.telephony.sip.endpoint import SipEndpoint
from dialer.telephony.sip.invite_client import InviteOutcome, OutgoingInvite
from dialer.telephony.sip.legs import SipLeg
from dialer.telephony.sip.message import Response
from dialer.telephony.sip.numbers import BadDestination, trunk_number
from dialer.telephony.sip.timers import LoopTimers
from dialer.telephony.sip.transport import UdpTransport

log = logging.getLogger("dialer.telephony.sip")

BYE_WAIT_S = 40.0  # a BYE's transaction gives up by itself after 64*T1 (32 s)
RINGING = frozenset({180, 181, 182, 183})


@dataclass(frozen=True, slots=True)
class Ringing:
    """A provisional answer worth telling (the far end rings); ``sdp``: early media's answer."""

    status: int
    sdp: bytes | None


@dataclass(frozen=True, slots=True)
class Final:
    """The INVITE's end. ``local``: no answer came from the far side at all — Timer B (408) or the
    request could not be sent (503) — so the leg failed, whatever the code would mean from a peer."""

    status: int
    sdp: bytes | None
    local: bool = False


LOCAL_ENDS = frozenset({InviteOutcome.TIMED_OUT, InviteOutcome.TRANSPORT_ERROR})


class InviteSteps:
    """One leg's INVITE as the leg's task reads it: ``await next()`` gives each ``Ringing`` then one
    ``Final``; ``cancel()`` gives up (a 2xx that races it is ACKed and hung up by the endpoint)."""

    def __init__(self, outgoing: OutgoingInvite, *, on_final: Callable[[], None]) -> None:
        self.outgoing = outgoing
        self._steps: asyncio.Queue[Ringing | Final] = asyncio.Queue()
        self._final: asyncio.Future[Final] = asyncio.get_running_loop().create_future()
        self._on_final = on_final
        outgoing.on_provisional = self._provisional
        self._waiter = asyncio.get_running_loop().create_task(self._wait_final())

    def _provisional(self, response: Response) -> None:
        if response.status in RINGING:
            self._steps.put_nowait(Ringing(response.status, response.body or None))

    async def _wait_final(self) -> None:
        response = await self.outgoing.wait_final()
        final = Final(response.status, response.body or None, local=self.outgoing.outcome in LOCAL_ENDS)
        self._steps.put_nowait(final)
        self._final.set_result(final)
        self._on_final()

    def close(self) -> None:
        """The leg is over: stop waiting for a final answer that may never come (§9.1)."""
        self._waiter.cancel()
        self._final.cancel()

    async def next(self) -> Ringing | Final:
        return await self._steps.get()

    def cancel(self) -> None:
        self.outgoing.cancel()

    async def final(self) -> Final:
        return await asyncio.shield(self._final)

    @property
    def dialog(self) -> Dialog | None:
        return self.outgoing.dialog


class Signalling:
    def __init__(self, config: SipConfig, transport: UdpTransport, endpoint: SipEndpoint,
                 on_bye: Callable[[str], None]) -> None:
        self.config = config
        self._transport = transport
        self._endpoint = endpoint
        self._on_bye = on_bye
        self._invites: dict[str, InviteSteps] = {}
        self._legs_by_dialog: dict[DialogId, str] = {}
        endpoint.on_bye = self._far_end_bye

    @classmethod
    async def start(cls, config: SipConfig, *, on_bye: Callable[[str], None]) -> Signalling:
        transport = await UdpTransport.bind(config.b2bua_host, config.b2bua_port)
        host, port = transport.local_address
        endpoint = SipEndpoint(transport, LoopTimers(), contact_host=host, contact_port=port,
                               user_agent="collections-dialer", config=config.timers)
        return cls(config, transport, endpoint, on_bye)

    def __len__(self) -> int:
        """Legs whose INVITE (and dialog) this still tracks: the legs not over yet."""
        return len(self._invites)

    @property
    def local_address(self) -> tuple[str, int]:
        return self._transport.local_address

    def invite(self, leg: SipLeg, sdp: bytes) -> InviteSteps:
        where = leg.destination
        if where.is_seat:
            from_uri = f'"{self._caller_user()}" <sip:{self._caller_user()}@{self.config.domain}>'
            next_hop, credentials = self.config.seat_next_hop, None
        else:
            host = self.config.trunk_host or self.config.edge_host
            from_uri = f"<sip:{self._caller_user()}@{host}>"
            next_hop = self.config.trunk_next_hop
            credentials = ((self.config.trunk_username, self.config.trunk_password)
                           if self.config.trunk_username and self.config.trunk_password else None)
        outgoing = self._endpoint.invite(
            where.request_uri, from_uri=from_uri, to_uri=f"<{where.to_uri}>", sdp=sdp, next_hop=next_hop,
            credentials=credentials, realm=None if where.is_seat else self.config.trunk_realm, extra_headers=[("X-Dialer-Call", leg.request.call_ref)])
        steps = self._invites[leg.sid] = InviteSteps(outgoing, on_final=lambda: self._answered(leg.sid))
        return steps

    def _caller_user(self) -> str:
        caller = self.config.caller_id
        if not caller:
            return "dialer"
        try:
            return trunk_number(caller, self.config.number_format)
        except BadDestination:
            return caller.lstrip("+")

    def _answered(self, sid: str) -> None:
        steps = self._invites.get(sid)
        if steps is not None and steps.dialog is not None:
            self._legs_by_dialog[steps.dialog.id] = sid

    async def bye(self, leg: SipLeg) -> None:
        """Hang the leg up (BYE); a leg with no dialog (never answered) has nothing to end."""
        steps = self._invites.pop(leg.sid, None)
        if steps is None or steps.dialog is None:
            return
        dialog = steps.dialog
        if self._legs_by_dialog.pop(dialog.id, None) is None:
            return  # the far end hung up first
        try:
            response = await asyncio.wait_for(self._endpoint.bye(dialog), BYE_WAIT_S)
        except TimeoutError:
            log.warning("SIP leg %s: BYE unanswered", leg.sid)
            return
        if response.status >= 300:
            log.info("SIP leg %s: BYE answered %s", leg.sid, response.status)

    def forget(self, leg: SipLeg) -> None:
        """The leg is over: its INVITE and dialog are not tracked any more."""
        steps = self._invites.pop(leg.sid, None)
        if steps is None:
            return
        steps.close()
        if steps.dialog is not None:
            self._legs_by_dialog.pop(steps.dialog.id, None)

    def _far_end_bye(self, dialog: Dialog) -> None:
        sid = self._legs_by_dialog.pop(dialog.id, None)
        if sid is not None:
            self._on_bye(sid)

    def close(self) -> None:
        self._transport.close()
