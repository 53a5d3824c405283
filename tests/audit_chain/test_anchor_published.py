"""The daily verification tells the chains' verified heads to the integrations: a copy of each
day's anchor kept outside our database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dialer.audit import service as audit
from dialer.audit.chain.seal import seal
from dialer.jobs import chain_verify_and_publish
from dialer.outbox.models import WebhookEvent


async def test_given_the_daily_verification_then_its_heads_are_told_as_audit_chain_head(session) -> None:
    await audit.record(session, action="test.something", entity="x", entity_id=1)
    await session.commit()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    await seal(session, now=later)  # the sealer's run, every 10 s
    await session.commit()

    summary = await chain_verify_and_publish(session, now=later)
    await session.flush()

    [event] = (await session.execute(select(WebhookEvent).where(WebhookEvent.type == "audit.chain_head"))).scalars()
    chains = event.payload["chains"]
    assert set(chains) == {name for name, result in summary.items() if isinstance(result, dict) and "anchor" in result}
    assert all(chain["ok"] for chain in chains.values())
    assert chains["audit"]["anchor"] == summary["audit"]["anchor"] and chains["audit"]["anchor"].startswith("audit:")
