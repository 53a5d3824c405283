"""Calls through the real twilio SDK: outcomes per scenario, signed callbacks in order, hang-up,
redirect, listing, and Twilio's error bodies."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException

from twilio_emulator.sdk_client import emulator_client
from twilio_emulator.testing import has_status

from .conftest import ALL_CALL_EVENTS

DEBTOR = "+8613800000001"
AGENCY = "+862100000000"
SCENARIO = {
    "default": {"behaviour": "answer", "ring_seconds": 2, "talk_seconds": 20},
    "numbers": {
        "+8613800000002": {"behaviour": "no_answer"},
        "+8613800000003": {"behaviour": "busy"},
        "+8613800000004": {"behaviour": "fail"},
        "+8613800000005": {"behaviour": "reject", "ring_seconds": 3},
        "+8613800000006": {"behaviour": "answer", "hangup_first": "caller"},
        "+8613800000007": {"behaviour": "voicemail", "talk_seconds": 5},
    },
}
LONG_TWIML = "<Response><Pause length='600'/></Response>"


def _place(sdk, rx, to, **kwargs):
    kwargs.setdefault("url", rx.url_for("/voice"))
    return sdk.calls.create(to=to, from_=AGENCY, status_callback=rx.url_for("/status"),
                            status_callback_event=ALL_CALL_EVENTS, **kwargs)


@pytest.fixture
def em(twilio_emulator_factory):
    return twilio_emulator_factory(SCENARIO)


@pytest.fixture
def api(em, client_for):
    return client_for(em)


def test_given_answering_number_when_call_created_then_callbacks_arrive_in_order_and_signed(em, api, twilio_receiver):
    twilio_receiver.twiml["/voice"] = "<Response><Say>您好，这里是催收服务公司。</Say><Pause length='2'/></Response>"

    call = _place(api, twilio_receiver, DEBTOR)

    assert call.sid.startswith("CA") and len(call.sid) == 34
    assert call.status == "queued" and call.direction == "outbound-api" and call.account_sid == em.account_sid
    got = twilio_receiver.wait_for("/status", has_status("completed"))
    assert [r.params["CallStatus"] for r in got] == ["initiated", "ringing", "in-progress", "completed"]
    assert [int(r.params["SequenceNumber"]) for r in got] == [0, 1, 2, 3]
    assert all(r.signed_by(em.auth_token) for r in got)
    assert not got[0].signed_by("some-other-token")
    assert {r.params["CallbackSource"] for r in got} == {"call-progress-events"}
    assert all(r.params["Timestamp"].endswith("+0000") for r in got)
    assert int(got[-1].params["CallDuration"]) >= 2
    fetched = twilio_receiver.at("/voice")
    assert len(fetched) == 1 and fetched[0].signed_by(em.auth_token)
    assert fetched[0].params["CallStatus"] == "in-progress" and fetched[0].params["To"] == DEBTOR
    final = api.calls(call.sid).fetch()
    assert final.status == "completed" and int(final.duration) >= 2 and final.end_time is not None


@pytest.mark.parametrize(("number", "status", "ringing", "sip"), [
    ("+8613800000002", "no-answer", True, "487"),
    ("+8613800000003", "busy", False, "486"),
    ("+8613800000004", "failed", False, "404"),
    ("+8613800000005", "busy", True, "603"),  # declined after ringing: Twilio's busy, SIP's 603 Decline
])
def test_given_unreachable_number_then_call_ends_with_its_status(api, twilio_receiver, number, status, ringing, sip):
    call = _place(api, twilio_receiver, number, timeout=10)

    got = twilio_receiver.wait_for("/status", has_status(status))
    assert ("ringing" in [r.params["CallStatus"] for r in got]) is ringing
    assert got[-1].params["CallDuration"] == "0" and got[-1].params["SipResponseCode"] == sip
    assert twilio_receiver.at("/voice") == []
    assert api.calls(call.sid).fetch().status == status


def test_given_ringing_longer_than_timeout_then_no_answer(api, twilio_receiver):
    _place(api, twilio_receiver, DEBTOR, timeout=1)
    twilio_receiver.wait_for("/status", has_status("no-answer"))


def test_given_call_in_progress_when_updated_to_completed_then_it_hangs_up(em, api, twilio_receiver):
    twilio_receiver.twiml["/voice"] = LONG_TWIML
    call = _place(api, twilio_receiver, "+8613800000006")
    twilio_receiver.wait_for("/status", has_status("in-progress"))

    updated = api.calls(call.sid).update(status="completed")

    assert updated.status == "completed"
    got = twilio_receiver.wait_for("/status", has_status("completed"))
    assert got[-1].signed_by(em.auth_token)


def test_given_ringing_call_when_canceled_then_status_canceled(api, twilio_receiver):
    call = _place(api, twilio_receiver, "+8613800000002", timeout=60)
    twilio_receiver.wait_for("/status", has_status("ringing"))

    assert api.calls(call.sid).update(status="canceled").status == "canceled"
    twilio_receiver.wait_for("/status", has_status("canceled"))


def test_given_call_in_progress_when_redirected_then_new_twiml_runs(api, twilio_receiver):
    twilio_receiver.twiml["/voice"] = LONG_TWIML
    twilio_receiver.twiml["/goodbye"] = "<Response><Say>再见</Say><Hangup/></Response>"
    call = _place(api, twilio_receiver, "+8613800000006")
    twilio_receiver.wait_for("/status", has_status("in-progress"))

    api.calls(call.sid).update(url=twilio_receiver.url_for("/goodbye"), method="POST")

    twilio_receiver.wait_for("/goodbye", lambda got: len(got) == 1)
    twilio_receiver.wait_for("/status", has_status("completed"))


def test_given_finished_call_when_redirected_then_error_21220(api, twilio_receiver):
    call = _place(api, twilio_receiver, "+8613800000003")
    twilio_receiver.wait_for("/status", has_status("busy"))
    with pytest.raises(TwilioRestException) as err:
        api.calls(call.sid).update(twiml="<Response/>")
    assert err.value.status == 400 and err.value.code == 21220


def test_given_voicemail_with_machine_detection_then_answered_by_machine(api, twilio_receiver):
    call = _place(api, twilio_receiver, "+8613800000007", machine_detection="Enable")
    twilio_receiver.wait_for("/status", has_status("completed"))
    assert twilio_receiver.at("/voice")[0].params["AnsweredBy"] == "machine_start"
    assert api.calls(call.sid).fetch().answered_by == "machine_start"


def test_given_callee_hangs_up_first_then_call_lasts_talk_seconds(api, twilio_receiver):
    twilio_receiver.twiml["/voice"] = LONG_TWIML
    _place(api, twilio_receiver, DEBTOR)
    got = twilio_receiver.wait_for("/status", has_status("completed"))
    assert 20 <= int(got[-1].params["CallDuration"]) <= 30


def test_given_several_calls_then_list_filters_and_pages(api, twilio_receiver):
    sids = [_place(api, twilio_receiver, n, twiml="<Response/>").sid for n in (DEBTOR, DEBTOR, "+8613800000003")]

    to_debtor = api.calls.list(to=DEBTOR)
    assert sorted(c.sid for c in to_debtor) == sorted(sids[:2])
    paged = list(api.calls.stream(page_size=1))
    assert sorted(c.sid for c in paged) == sorted(sids)
    twilio_receiver.wait_for("/status", lambda got: sum(r.params["CallStatus"] in {"completed", "busy"}
                                                        for r in got) == 3)
    assert [c.sid for c in api.calls.list(status="busy")] == [sids[2]]


def test_given_wrong_auth_token_then_401_with_code_20003(em):
    wrong = emulator_client(em.url, em.account_sid, "not-the-token")
    with pytest.raises(TwilioRestException) as err:
        wrong.calls.create(to=DEBTOR, from_=AGENCY, url="http://127.0.0.1:9/voice")
    assert err.value.status == 401 and err.value.code == 20003
    assert em.emulator.calls == {}


def test_given_unknown_call_then_404_with_code_20404(api):
    with pytest.raises(TwilioRestException) as err:
        api.calls("CA" + "f" * 32).fetch()
    assert err.value.status == 404 and err.value.code == 20404
    assert "was not found" in err.value.msg


def test_given_other_accounts_path_then_404(em, api):
    import httpx

    response = httpx.get(f"{em.url}/2010-04-01/Accounts/AC{'2' * 32}/Calls.json", auth=(em.account_sid, em.auth_token))
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert body["code"] == 20404 and body["more_info"] == "https://www.twilio.com/docs/errors/20404"


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"to": "not-a-number", "from_": AGENCY, "url": "http://x/voice"}, 21211),
    ({"to": DEBTOR, "from_": AGENCY}, 21205),
])
def test_given_invalid_create_then_400_with_twilio_code(api, kwargs, code):
    with pytest.raises(TwilioRestException) as err:
        api.calls.create(**kwargs)
    assert err.value.status == 400 and err.value.code == code


def test_given_unreachable_twiml_url_then_call_ends_and_error_11200_is_recorded(em, api, twilio_receiver):
    _place(api, twilio_receiver, DEBTOR, url="http://127.0.0.1:9/nothing-listens-here")
    twilio_receiver.wait_for("/status", has_status("completed"))
    assert [e["code"] for e in em.emulator.errors] == [11200]


def test_given_inline_twiml_then_no_fetch_is_made(api, twilio_receiver):
    _place(api, twilio_receiver, DEBTOR, url=None, twiml="<Response><Say>hi</Say></Response>")
    twilio_receiver.wait_for("/status", has_status("completed"))
    assert twilio_receiver.at("/voice") == []
