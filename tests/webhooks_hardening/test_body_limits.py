"""Request bodies are capped before they are read (dialer.kit.body_limit): 64 KiB for carrier
webhooks, 1 MiB for the JSON API, the uploads and bulk imports at their own, larger caps."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from dialer.audit.models import AuditEntry
from dialer.kit.body_limit import BodyLimit, KiB, MiB
from tests.webhooks_hardening.conftest import signed, status_params

PATH = "/webhooks/twilio/call-status"


# --- the middleware alone (no database) ---------------------------------------------------------
class _Echo:
    """An ASGI app that reads the whole body and answers with its length; records what it read."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.called = False

    async def __call__(self, scope, receive, send) -> None:
        self.called = True
        more = True
        while more:
            message = await receive()
            self.received.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = str(sum(map(len, self.received))).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _Swallowing(_Echo):
    """An app that catches a failed read and answers 400 of its own (as FastAPI does for a body it could not parse)."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            await send({"type": "http.response.start", "status": 400, "headers": []})
            await send({"type": "http.response.body", "body": b"could not parse"})


async def _run(app, path: str, chunks: list[bytes], *, declared: int | None = None, root_path: str = ""):
    scope = {"type": "http", "method": "POST", "path": path, "root_path": root_path,
             "headers": [] if declared is None else [(b"content-length", str(declared).encode())]}
    pending, reads, sent = list(chunks), [0], []

    async def receive():
        reads[0] += 1
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start, body, reads[0]


def _limited(inner) -> BodyLimit:
    return BodyLimit(inner, default=1 * MiB, routes=[(r"/webhooks/.*", 64 * KiB)])


async def test_given_a_declared_length_over_the_cap_then_413_without_reading_or_calling_the_app():
    inner = _Echo()
    start, body, reads = await _run(_limited(inner), "/webhooks/twilio/call-status", [b"x" * 10], declared=64 * KiB + 1)

    assert start["status"] == 413 and (b"connection", b"close") in start["headers"]
    assert json.loads(body) == {"error": "body_too_large", "detail": "the request body is larger than 64 KiB, "
                                "the limit for this endpoint; refused", "maximum": 64 * KiB}
    assert reads == 0 and not inner.called


async def test_given_a_chunked_body_streaming_past_the_cap_then_413_and_reading_stops():
    inner = _Swallowing()
    chunks = [b"x" * (16 * KiB)] * 100  # 1.6 MB, undeclared
    start, body, reads = await _run(_limited(inner), "/webhooks/twilio/call-status", chunks)

    assert start["status"] == 413 and json.loads(body)["error"] == "body_too_large"
    assert reads == 5  # the fifth chunk crossed 64 KiB; nothing after it was asked for


async def test_given_a_body_at_the_cap_then_it_goes_through():
    start, body, _ = await _run(_limited(_Echo()), "/webhooks/x", [b"x" * (32 * KiB)] * 2, declared=64 * KiB)
    assert start["status"] == 200 and body == str(64 * KiB).encode()


async def test_given_a_path_without_its_own_rule_then_the_default_cap_applies():
    limited = _limited(_Echo())
    over, _, _ = await _run(limited, "/v1/clients", [b"x"], declared=MiB + 1)
    under, _, _ = await _run(limited, "/v1/clients", [b"x" * (512 * KiB)] * 2)
    assert (over["status"], under["status"]) == (413, 200)


async def test_given_the_app_served_under_a_root_path_then_the_rules_match_below_it():
    over, _, _ = await _run(_limited(_Echo()), "/dialer/webhooks/x", [b"x"], declared=64 * KiB + 1, root_path="/dialer")
    assert over["status"] == 413


# --- the application ----------------------------------------------------------------------------
async def test_given_a_webhook_over_64_kib_then_413_as_json_and_nothing_audited(app, api):
    params = status_params(CallerName="x" * (64 * KiB))
    response = await api.post(PATH, data=params, headers=signed(PATH, params))

    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large" and response.json()["maximum"] == 64 * KiB
    async with app.state.container.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0


async def test_given_a_chunked_webhook_over_64_kib_then_413(api):
    async def body():
        yield b"CallSid=CA1&CallerName="
        for _ in range(20):
            yield b"x" * (8 * KiB)

    response = await api.post(PATH, content=body(), headers={"Content-Type": "application/x-www-form-urlencoded",
                                                             "X-Twilio-Signature": "forged"})
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"


async def test_given_a_json_body_over_1_mib_then_413_before_authentication(api):
    response = await api.post("/v1/clients", content=b'{"code": "' + b"x" * MiB + b'"}',
                              headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["maximum"] == MiB


async def test_given_uploads_over_1_mib_then_each_import_route_reads_them(api, headers):
    cid = (await api.post("/v1/clients", json={"code": "CMB", "name": "招商银行"}, headers=headers["admin"])).json()["id"]
    content = b"account_ref\n" + (b"A" * 3000 + b"\n") * 500  # 1.5 MB of a file the import refuses on its own grounds

    for path in ("cases", "stop-list", "payments"):
        response = await api.post(f"/v1/clients/{cid}/imports/{path}", files={"file": ("big.csv", content, "text/csv")},
                                  headers=headers["admin"])
        assert (response.status_code, response.json()["error"]) == (422, "import_rejected"), (path, response.text)


async def test_given_bulk_json_imports_over_1_mib_then_the_routes_read_them(api, headers):
    """Each answered by the route, on the content's own grounds (unknown numbers, an unknown client)."""
    attempts = {"attempts": [{"number_id": 987654321, "started_at": "2026-12-01T10:00:00+08:00",
                              "outcome": "no_answer", "conversation": False}] * 20_000}
    payments = {"client_id": 987654321, "payments": [{
        "account_ref": "A" * 64, "amount": "100.00", "paid_at": "2026-12-01T10:00:00+08:00", "reference": "R" * 100,
    }] * 5_000}

    for path, body, answer in (("/v1/attempts/import", attempts, (422, "import_rejected")),
                               ("/v1/payments/import", payments, (404, "not_found"))):
        content = json.dumps(body).encode()
        assert len(content) > MiB
        response = await api.post(path, content=content,
                                  headers={**headers["admin"], "Content-Type": "application/json"})
        assert (response.status_code, response.json()["error"]) == answer, path
