"""The emulator's parts on their own: scenario, clock, TwiML reader, WAV, signatures, pacing."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta

import pytest
from twilio.request_validator import RequestValidator

from twilio_emulator.callbacks import sign
from twilio_emulator.clock import SimClock, rfc2822
from twilio_emulator.media import wav_bytes
from twilio_emulator.pacing import ConcurrencyLimiter, CpsPacer
from twilio_emulator.resources import new_sid, render_page
from twilio_emulator.scenario import Behaviour, Scenario, load_scenario, parse_scenario
from twilio_emulator.sdk_client import rewrite_url
from twilio_emulator.twiml import TwimlError, client_identity, dial_nouns, parse_twiml


def test_given_scenario_file_then_numbers_and_clients_get_their_script(tmp_path):
    path = tmp_path / "scenario.json"
    path.write_text('{"speed": 50, "numbers": {"+8613800000002": {"behaviour": "busy"},'
                    ' "client:agent-7": {"behaviour": "no_answer"}}, "fail_rest": true}')

    scenario = load_scenario(path)

    assert scenario.speed == 50 and scenario.fail_rest == "503"
    assert scenario.script_for("+8613800000002").behaviour is Behaviour.BUSY
    assert scenario.script_for("client:agent-7").behaviour is Behaviour.NO_ANSWER
    assert scenario.script_for("+8613800000009").behaviour is Behaviour.ANSWER


def test_given_yaml_scenario_then_it_loads(tmp_path):
    path = tmp_path / "scenario.yaml"
    path.write_text("default:\n  behaviour: voicemail\n  talk_seconds: 5\ncps: 2\n")
    scenario = load_scenario(path)
    assert scenario.default.behaviour is Behaviour.VOICEMAIL and scenario.cps == 2


def test_given_unknown_scenario_field_then_rejected():
    with pytest.raises(ValueError):
        parse_scenario('{"default": {"behaviour": "sing"}}')
    with pytest.raises(ValueError):
        Scenario.model_validate({"spede": 3})


def test_given_speed_then_simulated_time_runs_faster():
    clock = SimClock(100, start=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    assert clock.real_seconds(20) == pytest.approx(0.2)
    assert clock.now() >= datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        SimClock(1, start=datetime(2026, 1, 5, 9, 0))
    assert rfc2822(datetime(2010, 8, 31, 20, 36, 28, tzinfo=UTC)) == "Tue, 31 Aug 2010 20:36:28 +0000"


def test_given_twiml_then_verbs_and_nouns_are_read():
    verbs = parse_twiml("<Response><Say voice='alice'>你好</Say><Dial timeout='10'>"
                        "<Client url='/w'><Identity>agent-7</Identity></Client></Dial><Dial>+8613800000001</Dial>"
                        "<Hangup/></Response>")
    assert [v.name for v in verbs] == ["Say", "Dial", "Dial", "Hangup"]
    assert verbs[0].text == "你好" and verbs[1].number("timeout", 30) == 10
    [client] = dial_nouns(verbs[1])
    assert client_identity(client) == "agent-7" and client.attr("url") == "/w"
    assert dial_nouns(verbs[2])[0].text == "+8613800000001"
    with pytest.raises(TwimlError):
        parse_twiml("<html/>")
    with pytest.raises(TwimlError):
        parse_twiml("not xml")


@pytest.mark.parametrize("channels", [1, 2])
def test_given_duration_then_wav_is_real_audio(channels):
    with wave.open(io.BytesIO(wav_bytes(2.5, channels=channels)), "rb") as audio:
        assert audio.getnchannels() == channels and audio.getframerate() == 8000
        assert audio.getnframes() == 20000
        frames = audio.readframes(100)
    assert any(frames)  # a tone, not silence


def test_given_params_then_signature_is_what_twilio_validator_accepts():
    params = {"CallSid": new_sid("CA"), "CallStatus": "completed", "To": "+8613800000001"}
    url = "https://dialer.example/v1/twilio/status?x=1"
    signature = sign("token", url, params)
    assert RequestValidator("token").validate(url, params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


def test_given_cps_then_each_call_gets_the_next_slot_per_account():
    pacer = CpsPacer(lambda: 2)
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert [pacer.slot("AC1", now) for _ in range(3)] == [timedelta(0), timedelta(seconds=0.5), timedelta(seconds=1)]
    assert pacer.slot("AC2", now) == timedelta(0)
    assert pacer.slot("AC1", now + timedelta(seconds=10)) == timedelta(0)


def test_given_limit_then_limiter_refuses_past_it():
    limiter = ConcurrencyLimiter(lambda: 1)
    assert limiter.enter("AC1") and not limiter.enter("AC1") and limiter.enter("AC2")
    limiter.leave("AC1")
    assert limiter.enter("AC1")


def test_given_list_then_page_has_twilio_paging_fields():
    page = render_page("calls", [{"sid": str(i)} for i in range(5)], path="/2010-04-01/Accounts/AC1/Calls.json",
                       query={"PageSize": "2", "Page": "1", "To": "+86"})
    assert [c["sid"] for c in page["calls"]] == ["2", "3"]
    assert page["start"] == 2 and page["end"] == 3 and page["page"] == 1 and page["page_size"] == 2
    assert page["next_page_uri"].endswith("To=%2B86&PageSize=2&Page=2")
    assert page["previous_page_uri"].endswith("Page=0")


def test_given_twilio_url_then_rewritten_to_emulator():
    assert rewrite_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?To=%2B1", "http://127.0.0.1:8099") \
        == "http://127.0.0.1:8099/2010-04-01/Accounts/AC1/Calls.json?To=%2B1"
    assert rewrite_url("https://example.com/x", "http://127.0.0.1:8099") == "https://example.com/x"
