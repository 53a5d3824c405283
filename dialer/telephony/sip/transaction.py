"""The transaction layer (RFC 3261 §17): it owns the live client and server transactions, matches
each incoming message to one, and passes up to the core what belongs to no transaction: new
requests, the ACK of a 2xx (§17.2.3 leaves it to the TU) and stray 2xx retransmissions that the
dialog must ACK again (§13.2.2.4)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from .client_transaction import (
    ClientTransaction,
    InviteClientTransaction,
    NonInviteClientTransaction,
    ResponseCallback,
    client_key,
)
from .message import Request, Response
from .server_transaction import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerState,
    ServerTransaction,
)
from .timers import TimerConfig, Timers
from .transport import Address, Message, SipTransport

log = logging.getLogger(__name__)

MAGIC_COOKIE = "z9hG4bK"

RequestHandler = Callable[[Request, ServerTransaction | None, Address], None]
"""The core's entry for a request no transaction absorbed: a new request with its new server
transaction, or an ACK for a 2xx with ``None``."""
ResponseHandler = Callable[[Response, Address], None]

ServerKey = tuple[str, ...]


def server_key(request: Request, *, method: str | None = None) -> ServerKey:
    """§17.2.3: the branch, the sent-by and the method (INVITE for an ACK) when the branch has the
    magic cookie; otherwise (RFC 2543 peers) the Call-ID, CSeq number, From tag, To tag and top Via."""
    via = request.top_via
    method = method or ("INVITE" if request.method == "ACK" else request.method)
    branch = via.branch or ""
    sent_by = f"{via.host.lower()}:{via.port or 5060}"
    if branch.startswith(MAGIC_COOKIE):
        return branch, sent_by, method
    to_tag = "" if request.method == "ACK" else (request.to.tag or "")  # the ACK carries the response's tag
    return ("2543", request.call_id, str(request.cseq.number), request.from_.tag or "", to_tag, sent_by,
            method)


class TransactionLayer:
    """Creates client transactions for the core, server transactions for incoming requests, and
    routes every incoming message. Wire ``receive`` to the transport's receiver."""

    def __init__(self, transport: SipTransport, timers: Timers, config: TimerConfig | None = None, *,
                 on_request: RequestHandler, on_stray_response: ResponseHandler) -> None:
        self.transport = transport
        self.timers = timers
        self.config = config or TimerConfig()
        self._on_request = on_request
        self._on_stray_response = on_stray_response
        self._clients: dict[tuple[str, str], ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}

    def send_request(self, request: Request, destination: Address, on_response: ResponseCallback,
                     ) -> ClientTransaction:
        """Start a client transaction for ``request`` (its top Via carries a fresh branch)."""
        if request.method == "ACK":
            raise ValueError("an ACK is sent by the transport, never by a transaction")
        kind = InviteClientTransaction if request.method == "INVITE" else NonInviteClientTransaction
        transaction = kind(request, destination, transport=self.transport, timers=self.timers, config=self.config,
                           on_response=on_response, on_terminated=self._client_ended)
        self._clients[transaction.key] = transaction
        transaction.start()
        return transaction

    def invite_transaction_for(self, cancel: Request) -> InviteServerTransaction | None:
        """The INVITE server transaction a CANCEL cancels (§9.2), if it is still alive."""
        found = self._servers.get(server_key(cancel, method="INVITE"))
        return found if isinstance(found, InviteServerTransaction) else None

    def receive(self, message: Message, source: Address) -> None:
        """Route one incoming message (the transport's receiver)."""
        try:
            if isinstance(message, Response):
                self._receive_response(message, source)
            else:
                self._receive_request(message, source)
        except ValueError as error:  # a header the transaction needs did not parse
            log.debug("SIP message from %s:%s dropped: %s", *source, error)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    @property
    def server_count(self) -> int:
        return len(self._servers)

    def _receive_response(self, response: Response, source: Address) -> None:
        key = client_key(response.top_via.branch or "", response.cseq.method)
        transaction = self._clients.get(key)
        if transaction is not None:
            transaction.receive(response)
        elif 200 <= response.status < 300 and response.cseq.method == "INVITE":
            self._on_stray_response(response, source)  # a 2xx retransmission: the dialog ACKs it again
        else:
            log.debug("SIP %s response matching no transaction dropped", response.status)

    def _receive_request(self, request: Request, source: Address) -> None:
        key = server_key(request)
        transaction = self._servers.get(key)
        if transaction is not None and transaction.state is not ServerState.TERMINATED:
            transaction.receive_request(request)
            return
        if request.method == "ACK":
            self._on_request(request, None, source)
            return
        kind = InviteServerTransaction if request.method == "INVITE" else NonInviteServerTransaction
        created = kind(request, source, transport=self.transport, timers=self.timers, config=self.config,
                       on_terminated=self._server_ended)
        self._servers[key] = created
        self._on_request(request, created, source)

    def _client_ended(self, transaction: ClientTransaction) -> None:
        if self._clients.get(transaction.key) is transaction:
            del self._clients[transaction.key]

    def _server_ended(self, transaction: ServerTransaction) -> None:
        key = server_key(transaction.request)
        if self._servers.get(key) is transaction:
            del self._servers[key]
