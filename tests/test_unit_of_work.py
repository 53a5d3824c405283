"""One unit of work per request: committed once after the handler, never reported as done when not."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from dialer.auth.models import Role, User
from dialer.kit.deps import SessionDep


async def test_given_commit_fails_after_handler_returned_then_client_gets_500_not_200(app):
    @app.post("/test/duplicate-user")
    async def duplicate_user(session: SessionDep) -> dict[str, bool]:
        # Not flushed: the unique violation surfaces only at commit, after the handler returned.
        session.add(User(username="same", display_name="a", role=Role.AGENT))
        session.add(User(username="same", display_name="b", role=Role.AGENT))
        return {"saved": True}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/test/duplicate-user")

    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "detail": "an unexpected error occurred"}
    async with app.state.container.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(User))).scalar_one() == 0


async def test_given_handler_raises_then_nothing_it_added_is_kept(app, api, headers):
    response = await api.post(
        "/v1/cases",
        json={"client_id": 999, "account_ref": "X", "total_owed": "1", "overdue_days": 1,
              "parties": [{"role": "debtor", "name": "x"}]},
        headers=headers["admin"],
    )
    assert response.status_code == 404
    from dialer.audit.models import AuditEntry

    async with app.state.container.sessions() as s:
        assert (await s.execute(select(AuditEntry).where(AuditEntry.action == "case.create"))).first() is None
