"""The client transactions of RFC 3261 §17.1 over UDP: INVITE (timers A, B, D, and the ACK for
a non-2xx final response, §17.1.1.3) and non-INVITE (timers E, F, K).

A transaction reports every response the TU should see through ``on_response``; a timeout
(Timer B or F) and a transport error arrive there too, as synthetic 408 and 503 responses
(§8.1.3.1), so the TU has one path for every outcome."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .message import Headers, Request, Response, make_response
from .timers import NamedTimers, TimerConfig, Timers
from .transport import Address, SipTransport

log = logging.getLogger(__name__)

ResponseCallback = Callable[[Response], None]


@dataclass(eq=True)
class SyntheticResponse(Response):
    """A final response no one sent: the transaction's own verdict (§8.1.3.1), ``failure`` being
    ``"timeout"`` (408, Timer B or F) or ``"transport"`` (503, the request could not be sent)."""

    failure: str = "timeout"


class ClientState(enum.Enum):
    CALLING = "calling"  # INVITE only
    TRYING = "trying"  # non-INVITE only
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    TERMINATED = "terminated"


def client_key(branch: str, method: str) -> tuple[str, str]:
    """§17.1.3: a response matches the client transaction of its top Via's branch and its CSeq
    method (so a CANCEL's responses do not land on the INVITE's transaction)."""
    return branch, method.upper()


def ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK a client INVITE transaction sends for a 300-699 response: the INVITE's
    Request-URI, Call-ID, From, top Via and Route set, the response's To (with its tag), the
    INVITE's CSeq number with method ACK."""
    headers = Headers()
    headers.add("Via", invite.top_via.encode())
    headers.add("Max-Forwards", "70")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", invite.call_id)
    headers.add("CSeq", f"{invite.cseq.number} ACK")
    return Request("ACK", invite.uri, headers)


class ClientTransaction:
    """What both client machines share: the request, where it goes, the timers and callbacks."""

    def __init__(self, request: Request, destination: Address, *, transport: SipTransport, timers: Timers,
                 config: TimerConfig, on_response: ResponseCallback,
                 on_terminated: Callable[[ClientTransaction], None] = lambda tx: None) -> None:
        self.request = request
        self.destination = destination
        self.key = client_key(request.top_via.branch or "", request.cseq.method)
        self.state = ClientState.TERMINATED
        self.failure: str | None = None
        """``"timeout"`` or ``"transport"`` once the transaction ended with a synthetic response."""
        self._transport = transport
        self._config = config
        self._on_response = on_response
        self._on_terminated = on_terminated
        self._running = NamedTimers(timers)

    def start(self) -> None:
        """Send the request and arm the timers."""
        raise NotImplementedError

    def receive(self, response: Response) -> None:
        """A response the layer matched to this transaction."""
        raise NotImplementedError

    def _send(self, message: Request) -> bool:
        try:
            self._transport.send(message, self.destination)
        except OSError as error:
            log.info("SIP %s to %s:%s failed: %s", message.method, *self.destination, error)
            self._fail(503, "Service Unavailable")
            return False
        return True

    def _fail(self, status: int, reason: str) -> None:
        """End with a synthetic final response (§8.1.3.1): 408 on timeout, 503 on transport error."""
        if self.state is ClientState.TERMINATED:
            return
        self.failure = "timeout" if status == 408 else "transport"
        self._terminate()
        made = make_response(self.request, status, reason)
        self._on_response(SyntheticResponse(made.status, made.reason, made.headers, failure=self.failure))

    def _arm(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._running.arm(name, delay, callback)

    def _disarm(self, name: str) -> None:
        self._running.disarm(name)

    def abandon(self) -> None:
        """The TU gives up on the transaction without a final response (§9.1: 64*T1 after a CANCEL
        nothing came): it ends quietly, telling the layer to forget it."""
        if self.state is not ClientState.TERMINATED:
            self._terminate()

    def _terminate(self) -> None:
        self.state = ClientState.TERMINATED
        self._running.cancel_all()
        self._on_terminated(self)


class InviteClientTransaction(ClientTransaction):
    """§17.1.1: Calling → Proceeding → (2xx: Terminated) | (300-699: Completed → Terminated)."""

    def start(self) -> None:
        self.state = ClientState.CALLING
        self._interval = self._config.t1
        self._arm("B", self._config.timer_b, self._timer_b)
        if self._send(self.request):
            self._arm("A", self._interval, self._timer_a)

    def _timer_a(self) -> None:
        if self.state is not ClientState.CALLING:
            return
        self._interval *= 2  # doubles without a cap (§17.1.1.2)
        if self._send(self.request):
            self._arm("A", self._interval, self._timer_a)

    def _timer_b(self) -> None:
        if self.state is ClientState.CALLING:
            self._fail(408, "Request Timeout")

    def _timer_d(self) -> None:
        if self.state is ClientState.COMPLETED:
            self._terminate()

    def receive(self, response: Response) -> None:
        status = response.status
        if self.state in (ClientState.CALLING, ClientState.PROCEEDING):
            if status < 200:
                self.state = ClientState.PROCEEDING
                self._disarm("A")
                self._on_response(response)
            elif status < 300:
                self._terminate()  # the 2xx's ACK belongs to the TU (§13.2.2.4)
                self._on_response(response)
            else:
                self.state = ClientState.COMPLETED
                self._disarm("A")
                self._disarm("B")
                self._ack = ack_for_non_2xx(self.request, response)
                self._send_ack()
                self._arm("D", self._config.timer_d, self._timer_d)
                self._on_response(response)
        elif self.state is ClientState.COMPLETED and status >= 300:
            self._send_ack()  # a retransmitted final response: ACK again, tell nobody

    def _send_ack(self) -> None:
        try:
            self._transport.send(self._ack, self.destination)
        except OSError as error:
            log.info("SIP ACK to %s:%s failed: %s", *self.destination, error)
            self._terminate()


class NonInviteClientTransaction(ClientTransaction):
    """§17.1.2: Trying → Proceeding → Completed → Terminated."""

    def start(self) -> None:
        self.state = ClientState.TRYING
        self._interval = self._config.t1
        self._arm("F", self._config.timer_f, self._timer_f)
        if self._send(self.request):
            self._arm("E", self._interval, self._timer_e)

    def _timer_e(self) -> None:
        if self.state is ClientState.TRYING:
            self._interval = min(2 * self._interval, self._config.t2)
        elif self.state is ClientState.PROCEEDING:
            self._interval = self._config.t2
        else:
            return
        if self._send(self.request):
            self._arm("E", self._interval, self._timer_e)

    def _timer_f(self) -> None:
        if self.state in (ClientState.TRYING, ClientState.PROCEEDING):
            self._fail(408, "Request Timeout")

    def _timer_k(self) -> None:
        if self.state is ClientState.COMPLETED:
            self._terminate()

    def receive(self, response: Response) -> None:
        if self.state not in (ClientState.TRYING, ClientState.PROCEEDING):
            return  # Completed absorbs retransmitted finals until Timer K
        if response.status < 200:
            self.state = ClientState.PROCEEDING
            self._on_response(response)
            return
        self.state = ClientState.COMPLETED
        self._disarm("E")
        self._disarm("F")
        self._arm("K", self._config.timer_k, self._timer_k)
        self._on_response(response)
