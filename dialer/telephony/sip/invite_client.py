"""One outgoing INVITE as the UAC core sees it (RFC 3261 §13.2): provisional responses, the
final answer, CANCEL (§9.1), the ACK of a 2xx and its retransmissions (§13.2.2.4), and one retry
with credentials after a 401/407 challenge (§22.2)."""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from .client_transaction import ClientTransaction, ResponseCallback, SyntheticResponse
from .dialog import Address, Dialog, DialogError, uri_address
from .digest import authorization, header_name, pick
from .message import Headers, Request, Response, SipParseError, make_response
from .timers import TimerConfig, Timers

log = logging.getLogger(__name__)

Credentials = tuple[str, str]


class InviteOutcome(enum.Enum):
    """How an outgoing INVITE ended, as the B2BUA records it."""

    ANSWERED = "answered"
    REJECTED = "rejected"  # a 300-699 final response from the far end
    CANCELLED = "cancelled"  # our CANCEL won: the INVITE ended 487 (or another non-2xx)
    ANSWERED_AFTER_CANCEL = "answered-after-cancel"  # a 2xx raced our CANCEL: ACKed, then BYE sent
    TIMED_OUT = "timed-out"  # Timer B: synthetic 408 (§8.1.3.1)
    TRANSPORT_ERROR = "transport-error"  # the request could not be sent: synthetic 503


class UacCore(Protocol):
    """What an ``OutgoingInvite`` needs from the endpoint that made it."""

    def send_request(self, request: Request, destination: Address, on_response: ResponseCallback,
                     ) -> ClientTransaction: ...

    def send_ack(self, ack: Request, destination: Address) -> None: ...

    def new_via(self) -> str: ...

    def dialog_confirmed(self, invite: OutgoingInvite, dialog: Dialog) -> None: ...

    def hang_up(self, dialog: Dialog) -> asyncio.Future[Response]: ...

    @property
    def timers(self) -> Timers: ...

    @property
    def config(self) -> TimerConfig: ...


def cancel_for(invite: Request) -> Request:
    """§9.1: the CANCEL of an INVITE: same Request-URI, Call-ID, From, To, Route, top Via (so the
    same branch) and CSeq number, with method CANCEL."""
    headers = Headers()
    headers.add("Via", invite.top_via.encode())
    headers.add("Max-Forwards", "70")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    for name in ("From", "To", "Call-ID"):
        headers.add(name, invite.headers.get(name) or "")
    headers.add("CSeq", f"{invite.cseq.number} CANCEL")
    return Request("CANCEL", invite.uri, headers)


class OutgoingInvite:
    """An INVITE in flight. Read provisional responses with ``async for`` or ``on_provisional``,
    the end with ``await wait_final()``; then ``outcome``, ``final`` and (answered) ``dialog``."""

    def __init__(self, core: UacCore, request: Request, next_hop: Address, *,
                 credentials: Credentials | None = None, realm: str | None = None) -> None:
        self.request = request
        self.next_hop = next_hop
        self.provisional: list[Response] = []
        self.final: Response | None = None
        self.outcome: InviteOutcome | None = None
        self.dialog: Dialog | None = None
        self.early_dialogs: dict[str, Dialog] = {}
        self.hangup: asyncio.Future[Response] | None = None
        """The BYE sent when a 2xx raced our CANCEL; await it to see the far end's answer."""
        self.on_provisional: Callable[[Response], None] | None = None
        self._core = core
        self._credentials = credentials
        self._realm = realm
        """Answer only this realm's challenges (the trunk's); None: any."""
        self._realms_answered: set[str] = set()
        self._cancel_requested = False
        self._cancel_sent = False
        self._provisional_seen = False
        self._ack: Request | None = None
        loop = asyncio.get_running_loop()
        self._final_future: asyncio.Future[Response] = loop.create_future()
        self._queue: asyncio.Queue[Response | None] = asyncio.Queue()
        self._transaction: ClientTransaction | None = None

    def start(self) -> None:
        self._transaction = self._core.send_request(self.request, self.next_hop, self._on_response)

    async def wait_final(self) -> Response:
        """The final response: the far end's, or a synthetic 408/503."""
        return await asyncio.shield(self._final_future)

    def __aiter__(self) -> AsyncIterator[Response]:
        return self._provisionals()

    async def _provisionals(self) -> AsyncIterator[Response]:
        while (response := await self._queue.get()) is not None:
            yield response

    def cancel(self) -> None:
        """Give up on the call (§9.1). The CANCEL goes once a provisional response has arrived (at
        once if one has); a 2xx that wins the race is ACKed and hung up with a BYE."""
        if self.final is not None or self._cancel_requested:
            return
        self._cancel_requested = True
        if self._provisional_seen:
            self._send_cancel()

    def resend_ack(self) -> None:
        """A 2xx came again: its ACK was lost (§13.2.2.4)."""
        if self._ack is not None and self.dialog is not None:
            self._core.send_ack(self._ack, uri_address(self.dialog.next_hop()))

    def fork_answered(self, response: Response) -> None:
        """A 2xx from a second fork (another To tag) after the call was settled: its dialog is
        ACKed and at once hung up, since we keep one (§13.2.2.4)."""
        try:
            dialog = Dialog.from_uac_response(self.request, response)
        except (DialogError, SipParseError) as error:
            log.warning("SIP 2xx from a second fork of %s makes no dialog: %s", self.request.call_id, error)
            return
        self._core.send_ack(dialog.ack(via=self._core.new_via()), uri_address(dialog.next_hop()))
        self._core.hang_up(dialog)

    def _send_cancel(self) -> None:
        if self._cancel_sent:
            return
        self._cancel_sent = True
        self._core.send_request(cancel_for(self.request), self.next_hop, self._on_cancel_response)
        self._core.timers.call_later(self._core.config.timer_b, self._cancel_unanswered)

    def _cancel_unanswered(self) -> None:
        """§9.1: no final response 64*T1 after our CANCEL: the INVITE is over (cancelled), and its
        client transaction is destroyed rather than held for ever."""
        if self.final is not None:
            return
        log.info("SIP INVITE %s: no final response 64*T1 after CANCEL; given up", self.request.call_id)
        if self._transaction is not None:
            self._transaction.abandon()
        made = make_response(self.request, 487, "Request Terminated")
        self.outcome = InviteOutcome.CANCELLED
        self._settle(SyntheticResponse(made.status, made.reason, made.headers, failure="timeout"))

    def _on_cancel_response(self, response: Response) -> None:
        log.debug("SIP CANCEL of %s answered %s", self.request.call_id, response.status)

    def _on_response(self, response: Response) -> None:
        if response.status < 200:
            self._provisional(response)
        elif response.status < 300:
            self._answered(response)
        elif response.status in (401, 407) and self._retry_with_credentials(response):
            return
        else:
            self._ended(response)

    def _provisional(self, response: Response) -> None:
        if self.final is not None:
            return
        self._provisional_seen = True
        if response.status > 100 and response.to.tag:
            self._early_dialog(response)
        self.provisional.append(response)
        self._queue.put_nowait(response)
        if self.on_provisional is not None:
            self.on_provisional(response)
        if self._cancel_requested:
            self._send_cancel()

    def _early_dialog(self, response: Response) -> None:
        tag = response.to.tag or ""
        try:
            if tag in self.early_dialogs:
                self.early_dialogs[tag].update_from_response(response)
            else:
                self.early_dialogs[tag] = Dialog.from_uac_response(self.request, response)
        except (DialogError, SipParseError) as error:
            log.info("SIP %s without a usable early dialog: %s", response.status, error)

    def _answered(self, response: Response) -> None:
        if self.final is not None:
            return  # 2xx retransmissions and other forks' 2xx come through the endpoint (stray responses)
        tag = response.to.tag or ""
        try:
            dialog = self.early_dialogs.pop(tag, None)
            if dialog is None:
                dialog = Dialog.from_uac_response(self.request, response)
            else:
                dialog.update_from_response(response)
        except (DialogError, SipParseError) as error:
            log.warning("SIP 2xx to INVITE %s makes no dialog (%s): not ACKed", self.request.call_id, error)
            self._ended(response)
            return
        self.dialog = dialog
        self._ack = dialog.ack(via=self._core.new_via())
        self._core.send_ack(self._ack, uri_address(dialog.next_hop()))
        self._core.dialog_confirmed(self, dialog)
        if self._cancel_requested:
            self.outcome = InviteOutcome.ANSWERED_AFTER_CANCEL
            self.hangup = self._core.hang_up(dialog)
        else:
            self.outcome = InviteOutcome.ANSWERED
        self._settle(response)

    def _ended(self, response: Response) -> None:
        if self.final is not None:
            return
        failure = response.failure if isinstance(response, SyntheticResponse) else None
        if failure == "timeout":
            self.outcome = InviteOutcome.TIMED_OUT
        elif failure == "transport":
            self.outcome = InviteOutcome.TRANSPORT_ERROR
        elif self._cancel_requested:
            self.outcome = InviteOutcome.CANCELLED
        else:
            self.outcome = InviteOutcome.REJECTED
        self._settle(response)

    def _settle(self, response: Response) -> None:
        self.final = response
        self._queue.put_nowait(None)
        if not self._final_future.done():
            self._final_future.set_result(response)

    def _retry_with_credentials(self, response: Response) -> bool:
        """§22.2: answer a challenge once per realm with a new INVITE (CSeq + 1, same Call-ID and
        From tag, new branch). False when there is nothing (more) to answer with."""
        if self._credentials is None or self._cancel_requested or self.final is not None:
            return False
        proxy = response.status == 407
        offered = response.headers.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        try:
            challenge = pick(offered, proxy=proxy)
        except ValueError as error:  # DigestError: none we can answer
            log.info("SIP %s challenge not answered: %s", response.status, error)
            return False
        if self._realm is not None and challenge.realm != self._realm:
            log.warning("SIP %s challenge for realm %r not answered: our credentials are for %r",
                        response.status, challenge.realm, self._realm)
            return False
        if challenge.realm in self._realms_answered and not challenge.stale:
            return False  # our credentials were refused: the challenge is the answer
        self._realms_answered.add(challenge.realm)
        username, password = self._credentials
        retry = Request(self.request.method, self.request.uri, self.request.headers.copy(), self.request.body)
        retry.headers.remove(header_name(challenge))  # credentials of the other kind stay (§22.3)
        retry.headers.remove_first("Via")
        retry.headers.prepend("Via", self._core.new_via())
        retry.headers.set("CSeq", f"{self.request.cseq.number + 1} INVITE")
        retry.headers.add(header_name(challenge), authorization(
            challenge, method=retry.method, uri=retry.uri, username=username, password=password, body=retry.body))
        self.request = retry
        self._provisional_seen = False
        self.early_dialogs.clear()
        self.start()
        return True
