"""Callback delivery as the service must survive it: repeated, out of order, redelivered on
demand, and signed the same way for GET and POST."""

from __future__ import annotations

import time

import httpx

from twilio_emulator.testing import has_status

from .conftest import ALL_CALL_EVENTS

AGENCY = "+862100000000"
DEBTOR = "+8613800000001"


def _call(api, rx, **kwargs):
    return api.calls.create(to=DEBTOR, from_=AGENCY, twiml="<Response><Say>hi</Say></Response>",
                            status_callback=rx.url_for("/status"), status_callback_event=ALL_CALL_EVENTS, **kwargs)


def test_given_duplicates_on_then_each_callback_arrives_twice_with_the_same_token(twilio_emulator_factory,
                                                                                  client_for, twilio_receiver):
    em = twilio_emulator_factory(duplicate_callbacks=True)
    _call(client_for(em), twilio_receiver)

    got = twilio_receiver.wait_for("/status", lambda g: len(g) == 8)

    assert [r.params["SequenceNumber"] for r in got] == ["0", "0", "1", "1", "2", "2", "3", "3"]
    for first, again in zip(got[::2], got[1::2], strict=True):
        assert first.params == again.params
        assert first.headers["i-twilio-idempotency-token"] == again.headers["i-twilio-idempotency-token"]
        assert again.signed_by(em.auth_token)
    assert len({r.headers["i-twilio-idempotency-token"] for r in got}) == 4


def test_given_shuffle_on_then_callbacks_arrive_out_of_order(twilio_emulator_factory, client_for, twilio_receiver):
    em = twilio_emulator_factory(shuffle_callbacks=True, seed=7)
    _call(client_for(em), twilio_receiver)

    got = twilio_receiver.wait_for("/status", lambda g: len(g) == 4)

    sequence = [int(r.params["SequenceNumber"]) for r in got]
    assert sorted(sequence) == [0, 1, 2, 3] and sequence != [0, 1, 2, 3]
    assert all(r.signed_by(em.auth_token) for r in got)


def test_given_finished_call_when_redelivery_requested_then_callbacks_come_again(twilio_emulator_factory,
                                                                                 client_for, twilio_receiver):
    em = twilio_emulator_factory()
    call = _call(client_for(em), twilio_receiver)
    first = twilio_receiver.wait_for("/status", has_status("completed"))

    answer = httpx.post(f"{em.url}/_emulator/redeliver", json={"sid": call.sid, "shuffle": True})

    assert answer.json() == {"redelivered": 4}
    got = twilio_receiver.wait_for("/status", lambda g: len(g) == 8)
    again = got[4:]
    assert [r.params["SequenceNumber"] for r in again] == ["3", "2", "1", "0"]
    assert {r.headers["i-twilio-idempotency-token"] for r in again} == \
        {r.headers["i-twilio-idempotency-token"] for r in first}
    assert all(r.signed_by(em.auth_token) for r in again)
    assert em.redeliver(call.sid) == 4  # the same from Python, in order
    got = twilio_receiver.wait_for("/status", lambda g: len(g) == 12)
    assert [r.params["SequenceNumber"] for r in got[8:]] == ["0", "1", "2", "3"]


def test_given_get_method_then_parameters_in_query_and_signature_covers_the_url(twilio_emulator_factory,
                                                                                 client_for, twilio_receiver):
    em = twilio_emulator_factory()
    _call(client_for(em), twilio_receiver, status_callback_method="GET")

    got = twilio_receiver.wait_for("/status", has_status("completed"))

    assert {r.method for r in got} == {"GET"}
    assert all("CallSid=" in r.url and r.signed_by(em.auth_token) for r in got)


def test_given_deliveries_then_control_api_lists_them(twilio_emulator_factory, client_for, twilio_receiver):
    em = twilio_emulator_factory()
    call = _call(client_for(em), twilio_receiver)
    twilio_receiver.wait_for("/status", has_status("completed"))

    def status_deliveries() -> list[dict]:
        listed = httpx.get(f"{em.url}/_emulator/deliveries").json()
        return [d for d in listed if d["resource_sid"] == call.sid and d["kind"] == "status"]

    deadline = time.monotonic() + 5
    while any(d["status_code"] is None for d in status_deliveries()) and time.monotonic() < deadline:
        time.sleep(0.01)  # the receiver records a request before it answers
    mine = status_deliveries()
    assert [d["params"]["CallStatus"] for d in mine] == ["initiated", "ringing", "in-progress", "completed"]
    assert {d["status_code"] for d in mine} == {200}
