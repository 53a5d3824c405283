"""The same row hashes alike on SQLite and PostgreSQL: the content hashes below are constants, and each
backend must seal its copy of the rows to exactly them (JSON vs JSONB, timestamp text vs timestamptz)."""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from dialer.audit.chain import seal
from dialer.audit.models import AuditEntry
from dialer.compliance.models import Channel, Decision
from tests.audit_chain.rows import entries, later

SH = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2026, 12, 1, 17, 30, 5, 123456, tzinfo=SH)
DETAIL = {
    "numbers": [1, 1.0, 2.5, 1e20, 1e23, 1.5e-10, 0.1, -0.0, 12345678901234567890],
    "text": "汉字 é \u2028 \"quoted\" \\ tab\t", "nested": {"z": None, "y": True, "x": False, "": []},
    "instant": "2026-12-01T09:30:05.123456+00:00",
}
AUDIT_CANONICAL = (  # written out by hand from canonical.py's rules: what an auditor recomputes
    '{"row":{"action":"policy.change","actor_id":null,"actor_role":"admin","at":"2026-12-01T09:30:05.123456Z",'
    '"detail":{"instant":"2026-12-01T09:30:05.123456+00:00","nested":{"":[],"x":false,"y":true,"z":null},'
    '"numbers":[1,1,2.5,100000000000000000000,100000000000000000000000,1.5e-10,0.1,0,12345678901234567890],'
    '"text":"\\u6c49\\u5b57 \\u00e9 \\u2028 \\"quoted\\" \\\\ tab\\t"},"entity":"client","entity_id":"7",'
    '"id":1000},"table":"audit_log","v":1}')
AUDIT_HASH = "a3255e8443aad9d265b66239fbfa0e0fba7540237c67a15511f0aad039f736b0"
DECISION_HASH = "212a5d2f5347407e8744b94d9d1fd42f1ea0113631b95b0e2fb9542bb0819ada"


def test_given_the_canonical_text_written_by_hand_then_its_sha256_is_the_sealed_hash():
    assert hashlib.sha256(AUDIT_CANONICAL.encode("ascii")).hexdigest() == AUDIT_HASH


async def test_given_the_same_rows_on_either_database_then_they_seal_to_the_same_content_hashes(session):
    session.add(AuditEntry(id=1000, at=AT, actor_id=None, actor_role="admin", action="policy.change",
                           entity="client", entity_id="7", detail=DETAIL))
    session.add(Decision(id=2000, client_id=None, policy_version=3, channel=Channel.CALL, at=AT, allowed=False,
                         dry_run=True, violations=[{"rule": "calling_window", "retry_at": "2026-12-02T00:00:00Z",
                                                    "message": "22:00 后不得拨打"}],
                         rule_results={"calling_window": "fail", "third_party_hourly_cap": {"count": 2, "limit": 2.0}},
                         next_allowed_at=AT + dt.timedelta(hours=14), created_at=AT))
    await session.commit()

    assert await seal(session, now=later(seconds=5)) == 2
    await session.commit()

    [audit] = await entries(session, "audit")
    [decision] = await entries(session, "decisions")
    assert (audit.content_hash, decision.content_hash) == (AUDIT_HASH, DECISION_HASH)
