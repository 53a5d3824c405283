"""Carrier webhooks in, every one verified: status callbacks stored raw under a unique key and
answered at once (the inbox applies them); TwiML requests answered with the call's next step."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError

from dialer.calls import state
from dialer.calls.effects import RingParty
from dialer.calls.models import Call, Direction
from dialer.dialing import inbound
from dialer.dialing.carrier_actions import CarrierActions
from dialer.kit.body_limit import KiB
from dialer.kit.bounds import RowId
from dialer.kit.deps import NowDep, SessionDep, provided
from dialer.kit.errors import Unavailable
from dialer.kit.text import refused_character
from dialer.settings import Settings
from webhooks import twiml
from webhooks.inbox import Inbox
from webhooks.legs import Leg
from webhooks.refusals import clip, record_refusal
from webhooks.signatures import BadSignature, is_valid, public_url

router = APIRouter(prefix="/webhooks/twilio", tags=["carrier webhooks"])

MAX_BODY_BYTES = 64 * KiB
"""A carrier's callback is a small form (a few hundred bytes to a few KiB); a larger body is
refused with 413 before it is read (``dialer.kit.body_limit``, installed by ``dialer.app``)."""


SettingsDep = Annotated[Settings, Depends(provided("settings"))]
Actions = Annotated[CarrierActions, Depends(provided("actions"))]


async def verified_form(request: Request) -> dict[str, str]:
    """The callback's form parameters, once its ``X-Twilio-Signature`` checks out: an unsigned or
    wrongly signed one is refused with 403 and audited within bounds (``webhooks.refusals``), a
    signed one holding a control character with 422 naming the field."""
    return await _verified(request)


async def _verified(request: Request) -> dict[str, str]:
    container = request.app.state.container  # read directly: status callbacks take no dependency chain
    settings: Settings = container.settings
    secret: str | None = container.callback_secret
    if secret is None:
        raise Unavailable("no carrier is configured (DIALER_TWILIO_AUTH_TOKEN, or DIALER_CARRIER=sip)")
    form = await _form_params(request)
    url = public_url(request, settings.public_base_url)
    if not is_valid(auth_token=secret, url=url, params=form,
                    signature=request.headers.get("X-Twilio-Signature")):
        await record_refusal(container.write_sessions, request.app.state.webhook_refusals, now=container.clock(),
                             path=request.url.path, client=request.client.host if request.client else None,
                             signed="X-Twilio-Signature" in request.headers, call_sid=form.get("CallSid"))
        raise BadSignature("the webhook's X-Twilio-Signature does not match; refused")
    _refuse_control_characters(form)
    return form


def _refuse_control_characters(form: dict[str, str]) -> None:
    """A signed form whose names or values hold a control character (``dialer.kit.text``: NUL,
    escape…; tab and line breaks are fine) is a 422 naming the field: PostgreSQL cannot store a
    NUL, and none belongs in a carrier's parameters."""
    for name, value in form.items():
        in_name = refused_character(name)
        found = f"{in_name} in the field's name" if in_name else refused_character(value)
        if found is not None:
            raise RequestValidationError([{
                "loc": ("body", clip(name)), "type": "value_error",
                "msg": f"control character refused ({found}); a carrier's parameters hold none",
            }])


async def _form_params(request: Request) -> dict[str, str]:
    """The form's parameters (the last of a repeated name). Carriers post urlencoded forms: those are
    decoded as Starlette's form parser does (latin-1 bytes, then percent-decoding), without its
    streaming parser, which costs more than the rest of a status callback's Python work."""
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl((await request.body()).decode("latin-1"), keep_blank_values=True))
    return {key: str(value) for key, value in (await request.form()).multi_items()}


Form = Annotated[dict[str, str], Depends(verified_form)]


# --- status callbacks: stored raw and answered at once; the inbox applies them (webhooks.inbox) -----
# These take the request alone (no session, no dependency chain): a callback costs the signature
# check and one insert, whatever it means.
async def _store(request: Request, kind: str, call_id: int | None, leg: Leg | None) -> Response:
    form = await _verified(request)
    container = request.app.state.container
    inbox: Inbox | None = container.inbox
    if inbox is None:
        raise Unavailable("the carrier events inbox is not running (no carrier configured at start)")
    await inbox.put(kind=kind, params=form, call_id=call_id, leg=leg.value if leg else None,
                    carrier=container.carrier_name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/call-status", status_code=status.HTTP_204_NO_CONTENT,
             summary="Twilio call status callback (signed by Twilio; no bearer token)")
async def call_status_callback(request: Request, call_id: RowId | None = None, leg: Leg | None = None) -> Response:
    return await _store(request, "call_status", call_id, leg)


@router.post("/recording-status", status_code=status.HTTP_204_NO_CONTENT,
             summary="Twilio recording status callback (signed by Twilio; no bearer token)")
async def recording_status_callback(request: Request, call_id: RowId | None = None) -> Response:
    return await _store(request, "recording_status", call_id, None)


@router.post("/conference-status", status_code=status.HTTP_204_NO_CONTENT,
             summary="Twilio conference status callback (signed by Twilio; no bearer token)")
async def conference_status_callback(request: Request, call_id: RowId | None = None) -> Response:
    return await _store(request, "conference_status", call_id, None)


def _twiml(body: str) -> Response:
    return Response(content=body, media_type="application/xml")


@router.post("/voice/agent", summary="TwiML for the agent's leg: the whisper, then the call's conference (signed)")
async def agent_voice(form: Form, session: SessionDep, settings: SettingsDep, actions: Actions, now: NowDep,
                      after: BackgroundTasks, call_id: RowId) -> Response:
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None:
        return _twiml(twiml.hang_up())
    document = await twiml.agent_leg(session, call, company=settings.company_name,
                                     public_base_url=settings.public_base_url)
    if await state.claim_party_leg(session, call, now=now):  # the agent is on: ring the party (once)
        after.add_task(actions.run, [RingParty(call.id)])
    return _twiml(document)


@router.post("/voice/party", summary="TwiML for the called party's leg: wait for the agent in the conference (signed)")
async def party_voice(form: Form, session: SessionDep, settings: SettingsDep, call_id: RowId) -> Response:
    call = await session.get(Call, call_id)
    if call is None:
        return _twiml(twiml.hang_up())
    return _twiml(twiml.party_leg(call, public_base_url=settings.public_base_url))


# --- inbound ---------------------------------------------------------------------------------------
@router.post("/voice/inbound", summary="The agency number's voice URL: route a caller to an agent or voicemail (signed)")
async def inbound_voice(form: Form, session: SessionDep, settings: SettingsDep, now: NowDep) -> Response:
    routed = await inbound.route(session, call_sid=form.get("CallSid", ""), from_number=form.get("From", ""),
                                 to_number=form.get("To", ""), now=now)
    base = settings.public_base_url
    if routed.seat is None:
        await inbound.miss(session, routed.call, now=now, reason="no_agent_ready")
        return _twiml(twiml.voicemail(routed.call, public_base_url=base))
    return _twiml(twiml.inbound_to_agent(routed.call, routed.seat.softphone_identity, public_base_url=base))


@router.post("/voice/inbound-whisper", summary="TwiML the agent hears on picking up an inbound call (signed)")
async def inbound_whisper(form: Form, session: SessionDep, settings: SettingsDep, now: NowDep, call_id: RowId) -> Response:
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None or call.direction is not Direction.INBOUND:
        return _twiml(twiml.hang_up())
    await inbound.agent_answered(session, call, now=now)
    return _twiml(await twiml.inbound_whisper(session, call, company=settings.company_name))


@router.post("/voice/inbound-result", summary="The inbound <Dial> ended: done, or voicemail (signed)")
async def inbound_result(form: Form, session: SessionDep, settings: SettingsDep, now: NowDep, call_id: RowId) -> Response:
    call = await session.get(Call, call_id, with_for_update=True)
    if call is None or call.direction is not Direction.INBOUND:
        return _twiml(twiml.hang_up())
    if form.get("DialCallStatus") == "completed" and call.bridged_at is not None:
        duration = form.get("DialCallDuration", "")
        await inbound.finish(session, call, now=now, talked_s=int(duration) if duration.isdigit() else None)
        return _twiml(twiml.hang_up())
    reason = "caller_hung_up" if form.get("DialCallStatus") == "canceled" else "agent_no_answer"
    await inbound.miss(session, call, now=now, reason=reason)
    return _twiml(twiml.voicemail(call, public_base_url=settings.public_base_url))


@router.post("/voice/voicemail-done", summary="The voicemail <Record> ended (signed)")
async def voicemail_done(form: Form, call_id: RowId) -> Response:
    return _twiml(twiml.hang_up())
