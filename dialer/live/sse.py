"""What the live pages' streams share: the bus of the process serving the request, and the id a
reconnecting page resumes from."""

from __future__ import annotations

from fastapi import Request

from dialer.live.bus import Bus


async def live_bus(request: Request) -> Bus:
    """The process's bus (built by the app's lifespan)."""
    bus: Bus = request.app.state.live_bus
    return bus


def resume_from(request: Request) -> int | None:
    """The ``Last-Event-ID`` a reconnecting page sent (None when absent or not an event id)."""
    value = request.headers.get("last-event-id", "").strip()
    return int(value) if value.isdigit() and len(value) <= 18 else None
