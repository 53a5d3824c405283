"""The UA core the B2BUA drives (RFC 3261 §8, §12-§15): outgoing INVITEs (``invite``), BYE
(``bye``), and the answers to what the far end sends outside our own transactions: OPTIONS, BYE,
CANCEL, re-INVITE and new INVITEs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .client_transaction import ClientTransaction, ResponseCallback
from .dialog import Address, Dialog, DialogId, uri_address
from .invite_client import Credentials, OutgoingInvite
from .message import Headers, Request, Response, make_response, new_branch, new_call_id, new_tag
from .server_transaction import InviteServerTransaction, ServerTransaction
from .timers import TimerConfig, Timers
from .transaction import TransactionLayer
from .transport import SipTransport

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS"
ACCEPT = "application/sdp"

InviteHandler = Callable[[Request, InviteServerTransaction], None]
ByeHandler = Callable[[Dialog], None]


def _name_addr(uri: str) -> str:
    return uri if "<" in uri else f"<{uri}>"


def _decline_inbound(request: Request, transaction: InviteServerTransaction) -> None:
    """Inbound calls are not taken yet: 480 Temporarily Unavailable."""
    transaction.respond(make_response(request, 480, "Temporarily Unavailable", to_tag=new_tag()))


class SipEndpoint:
    """One SIP user agent on one transport. Callbacks: ``on_bye(dialog)`` when the far end hangs
    up; ``on_invite(request, transaction)`` for a new inbound INVITE (default: 480)."""

    def __init__(self, transport: SipTransport, timers: Timers, *, contact_host: str, contact_port: int,
                 user_agent: str = "collections-dialer", config: TimerConfig | None = None) -> None:
        self.transport = transport
        self.timers = timers
        self.config = config or TimerConfig()
        self.contact_host = contact_host
        self.contact_port = contact_port
        self.user_agent = user_agent
        self.layer = TransactionLayer(transport, timers, self.config, on_request=self._on_request,
                                      on_stray_response=self._on_stray_response)
        transport.set_receiver(self.layer.receive)
        self.dialogs: dict[DialogId, Dialog] = {}
        self.on_bye: ByeHandler | None = None
        self.on_invite: InviteHandler = _decline_inbound
        self._answered: dict[DialogId, OutgoingInvite] = {}
        self._answered_calls: dict[tuple[str, str], OutgoingInvite] = {}  # Call-ID, From tag

    @property
    def contact(self) -> str:
        return f"<sip:{self.contact_host}:{self.contact_port}>"

    def new_via(self) -> str:
        """A top Via for a new client transaction (RFC 3581 ``rport`` asked for)."""
        return f"SIP/2.0/UDP {self.contact_host}:{self.contact_port};rport;branch={new_branch()}"

    # --- outgoing --------------------------------------------------------------------------------

    def invite(self, request_uri: str, *, from_uri: str, to_uri: str, sdp: bytes, next_hop: Address,
               credentials: Credentials | None = None, realm: str | None = None,
               extra_headers: list[tuple[str, str]] | None = None) -> OutgoingInvite:
        """Send an INVITE with an SDP offer to ``next_hop`` (the trunk) and return it in flight."""
        headers = Headers()
        headers.add("Via", self.new_via())
        headers.add("Max-Forwards", "70")
        headers.add("From", f"{_name_addr(from_uri)};tag={new_tag()}")
        headers.add("To", _name_addr(to_uri))
        headers.add("Call-ID", new_call_id(self.contact_host))
        headers.add("CSeq", "1 INVITE")
        headers.add("Contact", self.contact)
        headers.add("Allow", ALLOW)
        headers.add("User-Agent", self.user_agent)
        for name, value in extra_headers or []:
            headers.add(name, value)
        if sdp:
            headers.add("Content-Type", "application/sdp")
        outgoing = OutgoingInvite(self, Request("INVITE", request_uri, headers, sdp), next_hop,
                                  credentials=credentials, realm=realm)
        outgoing.start()
        return outgoing

    async def bye(self, dialog: Dialog) -> Response:
        """Hang up: BYE in the dialog, awaiting the far end's final response (or a synthetic
        408/503). The dialog is over whatever the answer (§15.1.1)."""
        return await self.hang_up(dialog)

    def hang_up(self, dialog: Dialog) -> asyncio.Future[Response]:
        """``bye`` as a future, for callers that cannot await (the CANCEL/200 race, a second fork)."""
        self.dialogs.pop(dialog.id, None)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Response] = loop.create_future()

        def finished(response: Response) -> None:
            if response.status >= 200 and not done.done():
                done.set_result(response)

        request = dialog.request("BYE", via=self.new_via(), extra_headers=[("User-Agent", self.user_agent)])
        self.send_request(request, uri_address(dialog.next_hop()), finished)
        return done

    # --- what OutgoingInvite needs (invite_client.UacCore) ---------------------------------------

    def send_request(self, request: Request, destination: Address, on_response: ResponseCallback,
                     ) -> ClientTransaction:
        return self.layer.send_request(request, destination, on_response)

    def send_ack(self, ack: Request, destination: Address) -> None:
        try:
            self.transport.send(ack, destination)
        except OSError as error:
            log.info("SIP ACK to %s:%s failed: %s", *destination, error)

    def dialog_confirmed(self, invite: OutgoingInvite, dialog: Dialog) -> None:
        self.dialogs[dialog.id] = dialog
        self._answered[dialog.id] = invite
        self._answered_calls[dialog.call_id, dialog.local_tag] = invite
        # 2xx retransmissions (and other forks' 2xx) may come for 64*T1 (§13.2.2.4): keep the INVITE
        # that can ACK them until then
        self.timers.call_later(self.config.timer_b, self._forget_answered, dialog)

    def _forget_answered(self, dialog: Dialog) -> None:
        self._answered.pop(dialog.id, None)
        self._answered_calls.pop((dialog.call_id, dialog.local_tag), None)

    # --- incoming ------------------------------------------------------------------------------

    def _on_stray_response(self, response: Response, source: Address) -> None:
        key = (response.call_id, response.from_.tag or "", response.to.tag or "")
        invite = self._answered.get(key)
        if invite is not None:
            invite.resend_ack()
            return
        invite = self._answered_calls.get(key[:2])
        if invite is not None:
            invite.fork_answered(response)
        else:
            log.info("SIP 2xx for an unknown dialog from %s:%s ignored", *source)

    def _on_request(self, request: Request, transaction: ServerTransaction | None, source: Address) -> None:
        if transaction is None:
            return  # an ACK for a 2xx: we send no 2xx to INVITE yet
        method = request.method
        if method == "CANCEL":
            self._cancel(request, transaction)
            return
        dialog = self._dialog_of(request)
        in_dialog = request.to.tag is not None
        if in_dialog and dialog is None:
            transaction.respond(make_response(request, 481, "Call/Transaction Does Not Exist"))
            return
        if dialog is not None and not dialog.accept_remote_cseq(request):
            transaction.respond(make_response(request, 500, "CSeq Out of Order"))
            return
        if method == "OPTIONS":
            transaction.respond(self._options_answer(request, in_dialog))
        elif method == "BYE":
            assert dialog is not None
            self.dialogs.pop(dialog.id, None)
            transaction.respond(make_response(request, 200))
            if self.on_bye is not None:
                self.on_bye(dialog)
        elif method == "INVITE" and isinstance(transaction, InviteServerTransaction):
            if dialog is not None:
                # TODO(SIP part 2): re-INVITE (hold, codec change, session refresh) is answered 488 for now
                transaction.respond(make_response(request, 488, "Not Acceptable Here"))
            else:
                self.on_invite(request, transaction)
        else:  # §8.2.1: a method we do not implement
            answer = make_response(request, 501, to_tag=None if in_dialog else new_tag())
            answer.headers.add("Allow", ALLOW)
            transaction.respond(answer)

    def _dialog_of(self, request: Request) -> Dialog | None:
        if request.to.tag is None:
            return None
        return self.dialogs.get((request.call_id, request.to.tag, request.from_.tag or ""))

    def _options_answer(self, request: Request, in_dialog: bool) -> Response:
        answer = make_response(request, 200, to_tag=None if in_dialog else new_tag())
        answer.headers.add("Allow", ALLOW)
        answer.headers.add("Accept", ACCEPT)
        answer.headers.add("User-Agent", self.user_agent)
        return answer

    def _cancel(self, cancel: Request, transaction: ServerTransaction) -> None:
        """§9.2: 481 when the INVITE is unknown; otherwise 200, and 487 to the INVITE if still open."""
        invite = self.layer.invite_transaction_for(cancel)
        if invite is None:
            transaction.respond(make_response(cancel, 481, "Call/Transaction Does Not Exist"))
            return
        transaction.respond(make_response(cancel, 200))
        if invite.last_response is None or invite.last_response.status < 200:
            tag = invite.last_response.to.tag if invite.last_response is not None else None
            invite.respond(make_response(invite.request, 487, "Request Terminated", to_tag=tag or new_tag()))
