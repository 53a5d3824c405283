"""Free loopback ports, for the processes the demo and the tests start on one machine."""

from __future__ import annotations

import contextlib
import itertools
import socket
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(span: int = 1, *, host: str = LOOPBACK) -> int:
    """A port ``p`` such that ``p .. p+span-1`` are free for both UDP and TCP on ``host`` right now."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind((host, 0))
            port: int = probe.getsockname()[1]
        if port + span > 65535:
            continue
        held: list[socket.socket] = []
        try:
            for p, kind in itertools.product(range(port, port + span), (socket.SOCK_DGRAM, socket.SOCK_STREAM)):
                held.append(socket.socket(socket.AF_INET, kind))
                held[-1].bind((host, p))
            return port
        except OSError:
            continue
        finally:
            for held_socket in held:
                held_socket.close()


def udp_port_bound(port: int) -> bool:
    """Whether some process has a UDP socket on ``port`` (read from the kernel's tables, so asking
    does not take the port even for a moment)."""
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                if int(line.split()[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False
