"""A SIP transport double for the state machines' tests: it records what it is asked to send,
loses the first messages when told to, refuses everything when broken, and can hand what it sends
to a peer transaction layer (a network of two)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialer.telephony.sip.message import Request, Response
from dialer.telephony.sip.transaction import TransactionLayer
from dialer.telephony.sip.transport import Address, Message, Receiver, response_address

UAC: Address = ("192.0.2.10", 5060)
UAS: Address = ("192.0.2.20", 5060)


@dataclass
class RecordingTransport:
    """Records what it sends; drops the first ``lose`` messages; raises when ``broken``."""

    address: Address = UAC
    lose: int = 0
    broken: bool = False
    peer: TransactionLayer | None = None
    sent: list[tuple[Message, Address]] = field(default_factory=list)
    lost: list[Message] = field(default_factory=list)

    @property
    def local_address(self) -> Address:
        return self.address

    def set_receiver(self, receiver: Receiver) -> None:
        pass

    def send(self, message: Message | bytes, address: Address | None = None) -> None:
        assert not isinstance(message, bytes)
        if self.broken:
            raise OSError("network is unreachable")
        if address is None:
            assert isinstance(message, Response)
            address = response_address(message)
        if self.lose > 0:
            self.lose -= 1
            self.lost.append(message)
            return
        self.sent.append((message, address))
        if self.peer is not None:
            self.peer.receive(message, self.address)

    def messages(self) -> list[Message]:
        return [message for message, _ in self.sent]

    def statuses(self) -> list[int]:
        return [m.status for m in self.messages() if isinstance(m, Response)]

    def methods(self) -> list[str]:
        return [m.method for m in self.messages() if isinstance(m, Request)]
