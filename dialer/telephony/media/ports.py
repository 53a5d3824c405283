"""The process's RTP port range: even ports handed to legs, the odd port above each held for RTCP."""

from __future__ import annotations

import collections
import ipaddress
import socket


class NoFreePort(Exception):
    """Every even port of the range is in use (by this process or another)."""


class PortPool:
    """Even ports of ``[first, last]`` whose port + 1 is also in the range.

    ``take`` binds the RTP socket and the RTCP socket (port + 1, bound only to reserve it: nothing
    reads RTCP; G.711 calls need none here). The RTCP socket's receive buffer is set to the minimum
    so the reports phones keep sending cannot pile up kernel memory for the length of a call. A port another process holds is skipped and retried
    later. Freed ports go to the back of the queue so a late packet of an ended call does not land
    in a new one.
    """

    def __init__(self, ip: str, first: int, last: int) -> None:
        start = first + (first & 1)
        self.ip = ip
        self.family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
        self._free: collections.deque[int] = collections.deque(range(start, last, 2))
        self.size = len(self._free)
        if not self.size:
            raise ValueError(f"port range {first}-{last} holds no even port with its odd neighbour")

    @property
    def free(self) -> int:
        return len(self._free)

    def take(self) -> tuple[int, socket.socket, socket.socket]:
        """A port and its bound, non-blocking RTP and RTCP sockets."""
        for _ in range(len(self._free)):
            port = self._free.popleft()
            try:
                rtp = self._bind(port)
            except OSError:
                self._free.append(port)
                continue
            try:
                rtcp = self._bind(port + 1)
                rtcp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel rounds up to its minimum
            except OSError:
                rtp.close()
                self._free.append(port)
                continue
            return port, rtp, rtcp
        raise NoFreePort(f"all {self.size} RTP ports of this process are in use")

    def give(self, port: int) -> None:
        """Return a port whose sockets are closed."""
        self._free.append(port)

    def _bind(self, port: int) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind((self.ip, port))
        except OSError:
            sock.close()
            raise
        return sock
