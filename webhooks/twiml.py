"""TwiML for the two legs of an outbound call, which meet in a per-call conference.

The agent leg (the seat's softphone) hears the whisper first and then *starts* the conference;
the party's leg joins as one that cannot start it. So the agent has always heard the whisper
before the bridge, and a party who answers early waits in silence for the agent: nobody is ever
connected to an empty line. Supervisors join the same conference later (monitor/whisper/barge).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from twilio.twiml.voice_response import Dial, VoiceResponse

from dialer.calls.lifecycle import ENDS
from dialer.calls.models import Call
from dialer.calls.whisper import Whisper, render_whisper
from dialer.cases.models import Party
from dialer.clients.models import Client
from dialer.compliance.repository import policy_for
from dialer.dialing.urls import address_of, webhook_url
from dialer.kit.queries import required

CONFERENCE_EVENTS = "start end join leave"


def conference_name(call: Call) -> str:
    return f"call-{call.id}"


def hang_up() -> str:
    response = VoiceResponse()
    response.hangup()
    return str(response)


def _conference(call: Call, callback: str, *, starts: bool) -> Dial:
    dial = Dial()
    dial.conference(
        conference_name(call), start_conference_on_enter=starts, end_conference_on_exit=True, beep=False,
        wait_url="", status_callback=callback, status_callback_event=CONFERENCE_EVENTS, status_callback_method="POST",
    )
    return dial


async def _whisper(session: AsyncSession, call: Call, *, company: str) -> Whisper:
    """The whisper for the call's party, kept on the call (the desktop shows the text)."""
    party = await required(session, Party, call.party_id)
    client = await required(session, Client, call.client_id)
    policy = await policy_for(session, client)
    whisper = render_whisper(
        policy, party_role=party.role.value, relation=party.relation.value, party_name=party.name,
        client_name=client.name, company=company, client_template=client.whisper_template,
    )
    call.whisper_text = call.whisper_text or whisper.text
    return whisper


async def agent_leg(session: AsyncSession, call: Call, *, company: str, public_base_url: str) -> str:
    """Whisper to the agent, then start the conference."""
    if call.state in ENDS or call.party_id is None:
        return hang_up()
    whisper = await _whisper(session, call, company=company)
    call.conference_name = conference_name(call)
    response = VoiceResponse()
    response.say(whisper.text, language=whisper.language)
    response.append(_conference(call, _callback(public_base_url, call), starts=True))
    return str(response)


def party_leg(call: Call, *, public_base_url: str) -> str:
    """The called party waits (in silence) for the agent to start the conference."""
    if call.state in ENDS:
        return hang_up()
    response = VoiceResponse()
    response.append(_conference(call, _callback(public_base_url, call), starts=False))
    return str(response)


def _callback(public_base_url: str, call: Call) -> str:
    return f"{public_base_url.rstrip('/')}/webhooks/twilio/conference-status?call_id={call.id}"


# --- inbound -------------------------------------------------------------------------------------
VOICEMAIL_PROMPT = {"zh": "您好，坐席暂时无法接听。请在提示音后留言，我们会尽快回电。",
                    "en": "Hello, no agent is available. Please leave a message after the tone and we will call you back."}
INBOUND_RING_S = 20
VOICEMAIL_MAX_S = 120


def inbound_to_agent(call: Call, softphone_identity: str, *, public_base_url: str) -> str:
    """Ring the chosen agent's seat (the agent hears who is calling first); recorded both sides."""
    response = VoiceResponse()
    dial = Dial(
        action=webhook_url(public_base_url, "voice/inbound-result", call_id=call.id), method="POST",
        timeout=INBOUND_RING_S, record="record-from-answer-dual",
        recording_status_callback=webhook_url(public_base_url, "recording-status", call_id=call.id),
        recording_status_callback_event="completed", recording_status_callback_method="POST",
    )
    whisper = webhook_url(public_base_url, "voice/inbound-whisper", call_id=call.id)
    address = address_of(softphone_identity)
    if address.startswith("sip:"):
        dial.sip(address, url=whisper)
    else:
        dial.client(address.removeprefix("client:"), url=whisper, method="POST")
    response.append(dial)
    return str(response)


def voicemail(call: Call, *, public_base_url: str, language: str = "zh") -> str:
    """A recorded message: the prompt, then up to two minutes of the caller's message."""
    response = VoiceResponse()
    lang = "zh" if language.startswith("zh") else "en"
    response.say(VOICEMAIL_PROMPT[lang], language="cmn-CN" if lang == "zh" else "en-US")
    response.record(
        action=webhook_url(public_base_url, "voice/voicemail-done", call_id=call.id), method="POST",
        max_length=VOICEMAIL_MAX_S, play_beep=True,
        recording_status_callback=webhook_url(public_base_url, "recording-status", call_id=call.id),
        recording_status_callback_event="completed", recording_status_callback_method="POST",
    )
    response.hangup()
    return str(response)


async def inbound_whisper(session: AsyncSession, call: Call, *, company: str) -> str:
    """What the agent hears on picking up an inbound call: who is calling, for which client."""
    response = VoiceResponse()
    if call.party_id is None:
        response.say("来电：未能识别的号码。请先核实对方身份。", language="cmn-CN")
        return str(response)
    whisper = await _whisper(session, call, company=company)
    prefix = "来电。" if whisper.language == "cmn-CN" else "Incoming call. "
    response.say(prefix + whisper.text, language=whisper.language)
    return str(response)
