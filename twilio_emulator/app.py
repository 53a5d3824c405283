"""The HTTP face of the emulator: Twilio's REST paths (thin handlers over ``Emulator``), the
gate in front of them (failure mode, Basic auth, concurrency limit) and a small control API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from .clock import SimClock
from .engine import Emulator, Form
from .errors import TwilioApiError, handle_twilio_error, not_found, too_many_requests, unauthenticated, unavailable
from .resources import API_VERSION, render_call, render_conference, render_page, render_participant, render_recording
from .scenario import Scenario

DEFAULT_ACCOUNT_SID = "AC" + "0" * 31 + "1"
DEFAULT_AUTH_TOKEN = "emulator0auth0token0000000000000"
REST_PREFIX = f"/{API_VERSION}/Accounts"


async def read_form(request: Request) -> Form:
    return parse_qs((await request.body()).decode(), keep_blank_values=True)


def _account(request: Request, account: str) -> str:
    if request.state.account != account:
        raise not_found(request.url.path)
    return account


Account = Annotated[str, Depends(_account)]
FormBody = Annotated[Form, Depends(read_form)]


def rest_router(em: Emulator) -> APIRouter:
    r = APIRouter(prefix=REST_PREFIX + "/{account}")

    def page(key: str, request: Request, items: list[dict[str, Any]]) -> dict[str, Any]:
        return render_page(key, items, path=request.url.path, query=dict(request.query_params))

    @r.post("/Calls.json", status_code=201)
    async def create_call(account: Account, form: FormBody) -> dict[str, Any]:
        return render_call(em.create_call(account, form))

    @r.get("/Calls.json")
    async def list_calls(account: Account, request: Request) -> dict[str, Any]:
        return page("calls", request, [render_call(c) for c in em.list_calls(account, dict(request.query_params))])

    @r.get("/Calls/{sid}.json")
    async def fetch_call(account: Account, sid: str) -> dict[str, Any]:
        return render_call(em.get_call(account, sid))

    @r.post("/Calls/{sid}.json")
    async def update_call(account: Account, sid: str, form: FormBody) -> dict[str, Any]:
        return render_call(await em.update_call(account, sid, form))

    @r.delete("/Calls/{sid}.json", status_code=204)
    async def delete_call(account: Account, sid: str) -> Response:
        em.delete_call(account, sid)
        return Response(status_code=204)

    @r.get("/Calls/{sid}/Recordings.json")
    async def list_call_recordings(account: Account, sid: str, request: Request) -> dict[str, Any]:
        em.get_call(account, sid)
        recs = em.list_recordings(account, {"CallSid": sid})
        return page("recordings", request, [render_recording(x, em.public_url) for x in recs])

    @r.get("/Conferences.json")
    async def list_conferences(account: Account, request: Request) -> dict[str, Any]:
        confs = em.list_conferences(account, dict(request.query_params))
        return page("conferences", request, [render_conference(c) for c in confs])

    @r.get("/Conferences/{sid}.json")
    async def fetch_conference(account: Account, sid: str) -> dict[str, Any]:
        return render_conference(em.rooms.lookup(account, sid))

    @r.post("/Conferences/{sid}.json")
    async def update_conference(account: Account, sid: str, form: FormBody) -> dict[str, Any]:
        return render_conference(em.update_conference(account, sid, form))

    @r.post("/Conferences/{sid}/Participants.json", status_code=201)
    async def create_participant(account: Account, sid: str, form: FormBody) -> dict[str, Any]:
        return render_participant(em.create_participant(account, sid, form))

    @r.get("/Conferences/{sid}/Participants.json")
    async def list_participants(account: Account, sid: str, request: Request) -> dict[str, Any]:
        ps = em.list_participants(account, sid, dict(request.query_params))
        return page("participants", request, [render_participant(p) for p in ps])

    @r.get("/Conferences/{sid}/Participants/{who}.json")
    async def fetch_participant(account: Account, sid: str, who: str) -> dict[str, Any]:
        return render_participant(em.get_participant(account, sid, who))

    @r.post("/Conferences/{sid}/Participants/{who}.json")
    async def update_participant(account: Account, sid: str, who: str, form: FormBody) -> dict[str, Any]:
        return render_participant(em.update_participant(account, sid, who, form))

    @r.delete("/Conferences/{sid}/Participants/{who}.json", status_code=204)
    async def delete_participant(account: Account, sid: str, who: str) -> Response:
        em.delete_participant(account, sid, who)
        return Response(status_code=204)

    @r.get("/Recordings.json")
    async def list_recordings(account: Account, request: Request) -> dict[str, Any]:
        recs = em.list_recordings(account, dict(request.query_params))
        return page("recordings", request, [render_recording(x, em.public_url) for x in recs])

    @r.get("/Recordings/{sid}.json")
    async def fetch_recording(account: Account, sid: str) -> dict[str, Any]:
        return render_recording(em.get_recording(account, sid), em.public_url)

    @r.delete("/Recordings/{sid}.json", status_code=204)
    async def delete_recording(account: Account, sid: str) -> Response:
        em.delete_recording(account, sid)
        return Response(status_code=204)

    @r.get("/Recordings/{name}")
    async def recording_media(account: Account, name: str, request: Request) -> Response:
        sid, _, extension = name.partition(".")
        if extension not in {"", "wav"}:  # only WAV is produced (no .mp3)
            raise not_found(request.url.path)
        wav = em.recording_media(account, sid, request.query_params.get("RequestedChannels"))
        return Response(wav, media_type="audio/x-wav")

    return r


def control_router(em: Emulator) -> APIRouter:
    """Test and demo controls, outside Twilio's API."""
    r = APIRouter(prefix="/_emulator")

    @r.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @r.put("/scenario")
    async def put_scenario(scenario: Scenario) -> dict[str, Any]:
        em.set_scenario(scenario)
        return scenario.model_dump(mode="json")

    @r.get("/deliveries")
    async def deliveries() -> list[dict[str, Any]]:
        return [{k: v for k, v in d.__dict__.items() if k != "at"} for d in em.poster.deliveries]

    @r.post("/redeliver")
    async def redeliver(sid: Annotated[str, Body()], shuffle: Annotated[bool, Body()] = False) -> dict[str, int]:
        return {"redelivered": em.poster.redeliver(sid, shuffle=shuffle)}

    @r.post("/inbound", status_code=201)
    async def inbound(form: Annotated[dict[str, str], Body()]) -> dict[str, Any]:
        account = form.pop("AccountSid", next(iter(em.accounts)))
        return render_call(em.inbound_call(account, {k: [v] for k, v in form.items()}))

    @r.get("/errors")
    async def errors() -> list[dict[str, Any]]:
        return [{**e, "at": e["at"].isoformat()} for e in em.errors]

    return r


def _gate(em: Emulator) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if not path.startswith(REST_PREFIX + "/"):
            return await call_next(request)
        if em.scenario.fail_rest == "503":
            return unavailable().response()
        parts = path.split("/")
        is_media = len(parts) == 6 and parts[4] == "Recordings" and not parts[5].endswith(".json")
        account = em.authenticate(request.headers.get("authorization"))
        if account is None and is_media and not em.scenario.media_requires_auth:
            account = parts[3]
        if account is None:
            return unauthenticated().response()
        if not em.limiter.enter(account):
            return too_many_requests().response()
        try:
            request.state.account = account
            if em.scenario.rest_latency_seconds:
                await asyncio.sleep(em.scenario.rest_latency_seconds)
            response = await call_next(request)
        finally:
            em.limiter.leave(account)
        response.headers["Twilio-Request-Id"] = "RQ" + uuid.uuid4().hex
        return response

    return gate


class _DropConnections:
    """``fail_rest: "disconnect"``: start an answer, then drop the connection half-way."""

    def __init__(self, app: ASGIApp, em: Emulator) -> None:
        self.app, self.em = app, em

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and self.em.scenario.fail_rest == "disconnect"
                and scope["path"].startswith(REST_PREFIX + "/")):
            while True:  # the request arrives whole (as at Twilio), then the answer breaks off
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"sid": "CA', "more_body": True})
            return  # uvicorn closes the connection on an unfinished answer
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return not_found(request.url.path).response()
    return TwilioApiError(exc.status_code, 20000 + exc.status_code, str(exc.detail)).response()


def create_emulator(scenario: Scenario | None = None, *, account_sid: str = DEFAULT_ACCOUNT_SID,
                    auth_token: str = DEFAULT_AUTH_TOKEN, clock: SimClock | None = None, speed: float | None = None,
                    public_url: str = "http://127.0.0.1:8099") -> FastAPI:
    """The emulator as an ASGI app; its state is ``app.state.emulator`` (an ``Emulator``)."""
    scenario = scenario or Scenario()
    if speed is not None:
        scenario = scenario.model_copy(update={"speed": speed})
    em = Emulator(scenario, account_sid=account_sid, auth_token=auth_token, clock=clock, public_url=public_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
        await em.start()
        try:
            yield
        finally:
            await em.stop()

    app = FastAPI(title="Twilio emulator", lifespan=lifespan)
    app.state.emulator = em
    app.add_exception_handler(TwilioApiError, handle_twilio_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.include_router(rest_router(em))
    app.include_router(control_router(em))
    app.middleware("http")(_gate(em))
    app.add_middleware(_DropConnections, em=em)
    return app
