"""Fixtures shared by the work list's API tests."""

from __future__ import annotations

import pytest

from tests.factories import make_seat
from tests.worklist.helpers import NOW


@pytest.fixture
async def desk(app, api, headers):
    """agent-1 logged in at a team-a seat, ready, with the service's clock at NOW."""
    app.state.container.clock = lambda: NOW
    async with app.state.container.sessions() as s:
        seat = await make_seat(s)
        await s.commit()
    assert (await api.post("/v1/agent/session", json={"seat_id": seat.id}, headers=headers["agent"])).status_code == 200
    assert (await api.post("/v1/agent/state", json={"state": "ready"}, headers=headers["agent"])).status_code == 200
    return headers["agent"]
