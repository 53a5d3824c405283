"""The server transactions of RFC 3261 §17.2 over UDP: INVITE (100 Trying when the TU is slow,
timers G, H, I) and non-INVITE (timer J). Both absorb retransmitted requests, answering them with
the last response sent."""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

from .message import Request, Response, make_response
from .timers import NamedTimers, TimerConfig, Timers
from .transport import Address, SipTransport

log = logging.getLogger(__name__)


class ServerState(enum.Enum):
    TRYING = "trying"  # non-INVITE only
    PROCEEDING = "proceeding"
    COMPLETED = "completed"
    CONFIRMED = "confirmed"  # INVITE only
    TERMINATED = "terminated"


class ServerTransaction:
    """What both server machines share. The TU answers through ``respond``."""

    def __init__(self, request: Request, source: Address, *, transport: SipTransport, timers: Timers,
                 config: TimerConfig,
                 on_terminated: Callable[[ServerTransaction], None] = lambda tx: None) -> None:
        self.request = request
        self.source = source
        self.state = ServerState.TRYING
        self.last_response: Response | None = None
        self.on_failure: Callable[[ServerTransaction], None] | None = None
        """Told when the transaction gives up: Timer H (no ACK came) or a transport error."""
        self._transport = transport
        self._config = config
        self._on_terminated = on_terminated
        self._running = NamedTimers(timers)

    def respond(self, response: Response) -> None:
        """Send the TU's response to the request, following the state machine."""
        raise NotImplementedError

    def receive_request(self, request: Request) -> None:
        """A retransmission of the request (or, for INVITE, the ACK of a non-2xx)."""
        raise NotImplementedError

    def _send(self, response: Response) -> bool:
        try:
            self._transport.send(response)
        except OSError as error:
            log.info("SIP %s response to %s:%s failed: %s", response.status, *self.source, error)
            self._terminate()
            if self.on_failure is not None:
                self.on_failure(self)
            return False
        return True

    def _resend_last(self) -> None:
        if self.last_response is not None:
            self._send(self.last_response)

    def _arm(self, name: str, delay: float, callback: Callable[[], None]) -> None:
        self._running.arm(name, delay, callback)

    def _disarm(self, name: str) -> None:
        self._running.disarm(name)

    def _terminate(self) -> None:
        if self.state is ServerState.TERMINATED:
            return
        self.state = ServerState.TERMINATED
        self._running.cancel_all()
        self._on_terminated(self)


class InviteServerTransaction(ServerTransaction):
    """§17.2.1: Proceeding → (2xx: Terminated) | (300-699: Completed → ACK → Confirmed → Terminated)."""

    def __init__(self, request: Request, source: Address, *, transport: SipTransport, timers: Timers,
                 config: TimerConfig,
                 on_terminated: Callable[[ServerTransaction], None] = lambda tx: None) -> None:
        super().__init__(request, source, transport=transport, timers=timers, config=config,
                         on_terminated=on_terminated)
        self.state = ServerState.PROCEEDING
        self._arm("trying", config.trying_after, self._send_trying)

    def _send_trying(self) -> None:
        if self.state is ServerState.PROCEEDING and self.last_response is None:
            self.last_response = make_response(self.request, 100, "Trying")
            self._send(self.last_response)

    def respond(self, response: Response) -> None:
        if self.state is not ServerState.PROCEEDING:
            log.warning("SIP %s ignored: the INVITE transaction is %s", response.status, self.state.value)
            return
        self._disarm("trying")
        self.last_response = response
        if not self._send(response):
            return
        if response.status < 200:
            return
        if response.status < 300:
            self._terminate()  # the TU retransmits its 2xx until the ACK (§13.3.1.4)
            return
        self.state = ServerState.COMPLETED
        self._interval = self._config.t1
        self._arm("G", self._interval, self._timer_g)
        self._arm("H", self._config.timer_h, self._timer_h)

    def receive_request(self, request: Request) -> None:
        if request.method == "ACK":
            if self.state is ServerState.COMPLETED:
                self.state = ServerState.CONFIRMED
                self._disarm("G")
                self._disarm("H")
                self._arm("I", self._config.timer_i, self._terminate)
            return  # in Confirmed: absorbed
        if self.state in (ServerState.PROCEEDING, ServerState.COMPLETED):
            self._resend_last()

    def _timer_g(self) -> None:
        if self.state is not ServerState.COMPLETED:
            return
        self._interval = min(2 * self._interval, self._config.t2)
        if self.last_response is not None and self._send(self.last_response):
            self._arm("G", self._interval, self._timer_g)

    def _timer_h(self) -> None:
        if self.state is ServerState.COMPLETED:
            log.info("SIP: no ACK for the %s to INVITE %s", self.last_response and self.last_response.status,
                     self.request.call_id)
            self._terminate()
            if self.on_failure is not None:
                self.on_failure(self)


class NonInviteServerTransaction(ServerTransaction):
    """§17.2.2: Trying → Proceeding → Completed → Terminated (Timer J)."""

    def respond(self, response: Response) -> None:
        if self.state not in (ServerState.TRYING, ServerState.PROCEEDING):
            log.warning("SIP %s ignored: the %s transaction is %s", response.status, self.request.method,
                        self.state.value)
            return
        self.last_response = response
        if not self._send(response):
            return
        if response.status < 200:
            self.state = ServerState.PROCEEDING
            return
        self.state = ServerState.COMPLETED
        self._arm("J", self._config.timer_j, self._terminate)

    def receive_request(self, request: Request) -> None:
        if self.state in (ServerState.PROCEEDING, ServerState.COMPLETED):
            self._resend_last()  # in Trying a retransmission is simply discarded
