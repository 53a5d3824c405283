"""Standard Webhooks headers, checked with the real ``standardwebhooks`` package; and the test
receiver's own check (it refuses what the package refuses, on the clock it is given)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from dialer.kit.clock import system_clock
from dialer.outbox.signing import Signer, new_secret
from tests.clocks import DrivenClock
from tests.outbox.receiver import Answer

BODY = json.dumps({"id": "msg_1", "type": "call.completed", "data": {"call": {"id": 7}}}).encode()


def test_given_a_new_secret_then_it_is_whsec_and_24_random_bytes_the_package_reads():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert new_secret() != secret
    Webhook(secret)  # accepted as a key


def test_given_signed_headers_then_the_package_verifies_them_and_they_name_the_event_and_the_time():
    secret, now = new_secret(), system_clock()
    headers = Signer(secret).headers(msg_id="msg_abc", body=BODY, at=now)

    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "msg_abc" and headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert len(headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)


def test_given_a_rotation_then_both_secrets_sign_until_its_end_and_only_the_new_one_after():
    old, new, now = new_secret(), new_secret(), system_clock()
    signer = Signer(new, previous=old, previous_until=now + dt.timedelta(seconds=1))

    during = signer.headers(msg_id="msg_r", body=BODY, at=now)
    assert len(during["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(BODY, during)
    Webhook(new).verify(BODY, during)

    at_end = signer.headers(msg_id="msg_r", body=BODY, at=now + dt.timedelta(seconds=1))
    assert len(at_end["webhook-signature"].split(" ")) == 1
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(BODY, at_end)


def test_given_a_previous_secret_without_an_end_then_it_does_not_sign():
    old, new, now = new_secret(), new_secret(), system_clock()
    headers = Signer(new, previous=old).headers(msg_id="msg_x", body=BODY, at=now)
    assert len(headers["webhook-signature"].split(" ")) == 1


def test_given_a_naive_time_then_refused():
    with pytest.raises(ValueError):
        Signer(new_secret()).headers(msg_id="msg_n", body=BODY, at=dt.datetime(2026, 12, 4, 9, 0))


# --- the test receiver checks as the package does ---------------------------------------------

async def test_given_the_test_receiver_then_it_refuses_a_wrong_secret_and_a_stale_time_on_its_clock(receivers, http):
    secret = new_secret()
    clock = DrivenClock(system_clock() + dt.timedelta(days=2))
    receiver = await receivers({"holder": secret}, clock=clock, default=Answer(200))
    signer = Signer(secret)

    ok = await http.post(receiver.url, content=BODY, headers=signer.headers(msg_id="msg_1", body=BODY, at=clock()))
    stale = await http.post(receiver.url, content=BODY, headers=signer.headers(
        msg_id="msg_2", body=BODY, at=clock() - dt.timedelta(minutes=6)))
    wall = await http.post(receiver.url, content=BODY, headers=signer.headers(msg_id="msg_3", body=BODY,
                                                                             at=system_clock()))
    wrong = await http.post(receiver.url, content=BODY, headers=Signer(new_secret()).headers(
        msg_id="msg_4", body=BODY, at=clock()))

    assert [ok.status_code, stale.status_code, wall.status_code, wrong.status_code] == [200, 401, 401, 401]
    assert receiver.delivered() == {"msg_1": 1}
    assert receiver.received[0].body == json.loads(BODY) and receiver.received[0].verified_by == {"holder"}


async def test_given_the_test_receiver_on_the_wall_clock_then_the_package_checks_unchanged(receivers, http):
    secret = new_secret()
    receiver = await receivers({"holder": secret})
    signer = Signer(secret)

    now = await http.post(receiver.url, content=BODY, headers=signer.headers(msg_id="m1", body=BODY, at=system_clock()))
    later = await http.post(receiver.url, content=BODY, headers=signer.headers(
        msg_id="m2", body=BODY, at=system_clock() + dt.timedelta(hours=1)))
    assert (now.status_code, later.status_code) == (204, 401)


async def test_given_the_test_receiver_stopped_then_nothing_listens_until_it_starts_again(receivers, http):
    secret = new_secret()
    receiver = await receivers({"holder": secret})
    await receiver.stop()
    with pytest.raises(httpx.ConnectError):
        await http.post(receiver.url, content=BODY)
    await receiver.start()
    answer = await http.post(receiver.url, content=BODY, headers=Signer(secret).headers(
        msg_id="m", body=BODY, at=system_clock()))
    assert answer.status_code == 204
