"""A dialog (RFC 3261 §12): the peer-to-peer state a call's requests share, created on the UAC
side from a response to our INVITE (early from a 1xx with a To tag, confirmed by the 2xx), the
in-dialog requests it builds (§12.2.1.1, with loose and strict routing, §16.12.1.1-style) and the
matching of incoming in-dialog requests (§12.2.2)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .message import Headers, NameAddr, Request, Response, SipParseError, SipUri, parse_name_addr, parse_uri

Address = tuple[str, int]
DialogId = tuple[str, str, str]
"""Call-ID, local tag, remote tag (§12)."""


class DialogError(ValueError):
    """A response or request that cannot create or use a dialog (no tag, no Contact...)."""


def uri_address(uri: SipUri) -> Address:
    """Where to send a request whose next hop is ``uri``: its ``maddr`` or host, and its port
    (else 5060, or 5061 for sips). No DNS SRV: the trunk is configured by address."""
    maddr = uri.params.get("maddr")
    host = maddr or uri.host
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, uri.port or (5061 if uri.scheme.lower() == "sips" else 5060)


def _contact_uri(message: Request | Response) -> SipUri | None:
    values = message.headers.get_all("Contact")
    if not values:
        return None
    return parse_name_addr(values[0]).uri


def _is_loose(route: str) -> bool:
    return "lr" in {name.lower() for name in parse_name_addr(route).uri.params}


@dataclass
class Dialog:
    """One dialog's state. ``local``/``remote`` are the From/To name-addrs with their tags."""

    call_id: str
    local: NameAddr
    remote: NameAddr
    remote_target: SipUri
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    secure: bool = False
    early: bool = False
    invite_seq: int = 0
    """The CSeq number of the INVITE that established the dialog: its ACK carries it (§13.2.2.4)."""

    @property
    def local_tag(self) -> str:
        return self.local.tag or ""

    @property
    def remote_tag(self) -> str:
        return self.remote.tag or ""

    @property
    def id(self) -> DialogId:
        return self.call_id, self.local_tag, self.remote_tag

    @property
    def local_uri(self) -> SipUri:
        return self.local.uri

    @property
    def remote_uri(self) -> SipUri:
        return self.remote.uri

    @classmethod
    def from_uac_response(cls, invite: Request, response: Response) -> Dialog:
        """§12.1.2: the dialog a 1xx (early) or 2xx to our INVITE creates. The route set is the
        response's Record-Route in reverse, the remote target its Contact."""
        to = response.to
        if not to.tag:
            raise DialogError(f"a {response.status} without a To tag creates no dialog")
        target = _contact_uri(response)
        if target is None:
            if response.status >= 200:
                raise DialogError("a 2xx to INVITE without a Contact creates no dialog")
            target = parse_uri(invite.uri)  # an early dialog may lack it; the 2xx will set it
        request_uri = parse_uri(invite.uri)
        return cls(
            call_id=invite.call_id,
            local=invite.from_,
            remote=to,
            remote_target=target,
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_seq=invite.cseq.number,
            secure=request_uri.scheme.lower() == "sips",
            early=response.status < 200,
            invite_seq=invite.cseq.number,
        )

    def update_from_response(self, response: Response) -> None:
        """A later response in this dialog: a 2xx confirms an early dialog and fixes its route
        set (§12.1.2, §13.2.2.4); a target refresh updates the remote target (§12.2.1.2)."""
        target = _contact_uri(response)
        if target is not None:
            self.remote_target = target
        if self.early and 200 <= response.status < 300:
            self.early = False
            self.route_set = list(reversed(response.headers.get_all("Record-Route")))
            self.remote = response.to

    def matches(self, request: Request) -> bool:
        """§12.2.2: the request's Call-ID, To tag (ours) and From tag (theirs) name this dialog."""
        try:
            return (request.call_id == self.call_id and request.to.tag == self.local_tag
                    and request.from_.tag == self.remote_tag)
        except (SipParseError, ValueError):
            return False

    def accept_remote_cseq(self, request: Request) -> bool:
        """§12.2.2: record the remote sequence number; False (answer 500) when it went down."""
        number = request.cseq.number
        if self.remote_seq is not None and number < self.remote_seq:
            return False
        self.remote_seq = number
        return True

    def next_hop(self) -> SipUri:
        """The URI the next request goes to: the first route, or the remote target."""
        if self.route_set:
            return parse_name_addr(self.route_set[0]).uri
        return self.remote_target

    def request(self, method: str, *, via: str, contact: str | None = None, body: bytes = b"",
                content_type: str | None = None, cseq: int | None = None,
                extra_headers: list[tuple[str, str]] | None = None) -> Request:
        """§12.2.1.1: an in-dialog request. Takes the next local CSeq unless ``cseq`` is given
        (ACK, CANCEL). ``via`` is the whole Via value, fresh branch included."""
        method = method.upper()
        if cseq is None:
            self.local_seq += 1
            cseq = self.local_seq
        request_uri, routes = self._routing()
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        for route in routes:
            headers.add("Route", route)
        headers.add("From", str(self.local))
        headers.add("To", str(self.remote))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        if contact is not None:
            headers.add("Contact", contact)
        for name, value in extra_headers or []:
            headers.add(name, value)
        if body:
            headers.add("Content-Type", content_type or "application/sdp")
        return Request(method, request_uri, headers, body)

    def ack(self, *, via: str, body: bytes = b"", content_type: str | None = None) -> Request:
        """§13.2.2.4: the ACK for the 2xx, with the INVITE's CSeq number."""
        return self.request("ACK", via=via, body=body, content_type=content_type, cseq=self.invite_seq)

    def _routing(self) -> tuple[str, list[str]]:
        """The Request-URI and Route values (§12.2.1.1): loose routing keeps the remote target as
        the Request-URI; a strict first route takes its place and the target goes last."""
        if not self.route_set:
            return str(self.remote_target), []
        if _is_loose(self.route_set[0]):
            return str(self.remote_target), list(self.route_set)
        first = copy.deepcopy(parse_name_addr(self.route_set[0]).uri)
        first.headers = {}
        for name in [n for n in first.params if n.lower() in ("method", "ttl", "maddr", "lr")]:
            del first.params[name]
        return str(first), self.route_set[1:] + [f"<{self.remote_target}>"]
