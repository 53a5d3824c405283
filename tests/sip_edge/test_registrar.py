"""The SIP edge against real peers: sipp plays the softphones, the B2BUA and the trunk."""

from __future__ import annotations

from dialer.seats.sip_credentials import set_sip_password
from tests.sip_edge.conftest import Edge, free_udp_port, make_sip_seat

PASSWORD = "correct-battery-staple-42"
TRUNK_NUMBER = "+8613800138000"


def register(edge: Edge, user: str, password: str, *, expected: str = "200", local_port: int | None = None,
             contact_host: str = "127.0.0.1"):
    return edge.run_sipp(edge.scenario("register", EXPECTED_STATUS=expected), local_port=local_port, service=user,
                         keys={"contact_host": contact_host}, auth=(user, password))


def b2bua_calls(edge: Edge, target: str, *, scenario: str = "invite_answered", expected: str | None = None):
    path = edge.scenario(scenario, EXPECTED_STATUS=expected) if expected else edge.scenario(scenario)
    return edge.run_sipp(path, local_port=edge.b2bua_port, service=target, keys={"caller": "b2bua"})


async def test_given_seat_with_password_when_softphone_registers_then_200_and_b2bua_reaches_it(edge, session):
    await make_sip_seat(session, user="seat-a07", password=PASSWORD)
    softphone_port = free_udp_port()

    registered = register(edge, "seat-a07", PASSWORD, local_port=softphone_port)
    assert registered.ok, registered.output

    softphone = edge.start_answering(local_port=softphone_port)
    call = b2bua_calls(edge, "seat-a07")
    answered = edge.finish(softphone)
    assert call.ok, call.output
    assert answered.ok, answered.output


async def test_given_softphone_behind_nat_when_it_registers_then_b2bua_reaches_its_source_address(edge, session):
    await make_sip_seat(session, user="seat-b01", password=PASSWORD)
    softphone_port = free_udp_port()

    registered = register(edge, "seat-b01", PASSWORD, local_port=softphone_port, contact_host="192.168.1.20")
    assert registered.ok, registered.output

    softphone = edge.start_answering(local_port=softphone_port)
    call = b2bua_calls(edge, "seat-b01")
    answered = edge.finish(softphone)
    assert call.ok, call.output
    assert answered.ok, answered.output


async def test_given_wrong_password_when_softphone_registers_then_challenged_again_and_never_200(edge, session):
    await make_sip_seat(session, user="seat-a08", password=PASSWORD)

    refused = register(edge, "seat-a08", "not-the-password-99", expected="401")

    assert refused.ok, refused.output


async def test_given_seat_not_registered_when_b2bua_calls_it_then_480(edge, session):
    await make_sip_seat(session, user="seat-a09", password=PASSWORD)

    call = b2bua_calls(edge, "seat-a09", scenario="invite_refused", expected="480")

    assert call.ok, call.output


async def test_given_no_such_seat_when_b2bua_calls_it_then_404(edge, session):
    call = b2bua_calls(edge, "seat-nobody", scenario="invite_refused", expected="404")

    assert call.ok, call.output


async def test_given_stranger_when_it_sends_an_invite_then_407(edge, session):
    await make_sip_seat(session, user="seat-a10", password=PASSWORD)

    call = edge.run_sipp(edge.scenario("invite_refused", EXPECTED_STATUS="407"), service="seat-a10",
                         keys={"caller": "seat-a10"})

    assert call.ok, call.output


async def test_given_b2bua_when_it_calls_a_number_then_the_trunk_answers_through_the_edge(edge, session):
    trunk = edge.start_answering(local_port=edge.trunk_port)

    call = b2bua_calls(edge, TRUNK_NUMBER)
    answered = edge.finish(trunk)

    assert call.ok, call.output
    assert answered.ok, answered.output  # the trunk's scenario requires the edge's Record-Route


async def test_given_the_trunk_down_when_the_b2bua_calls_a_number_then_503_not_a_ring_out(edge, session):
    call = b2bua_calls(edge, TRUNK_NUMBER, scenario="invite_refused", expected="503")  # nothing on trunk_port

    assert call.ok, call.output
    assert "no answer at all from the next hop" in edge.process.log_tail(40)


async def test_given_seat_with_password_when_its_softphone_calls_then_challenged_and_relayed_to_the_b2bua(
        edge, session):
    await make_sip_seat(session, user="seat-a11", password=PASSWORD)
    b2bua = edge.start_answering(local_port=edge.b2bua_port)

    call = edge.run_sipp(edge.scenario("invite_authenticated"), service=TRUNK_NUMBER, keys={"caller": "seat-a11"},
                         auth=("seat-a11", PASSWORD))
    answered = edge.finish(b2bua)

    assert call.ok, call.output
    assert answered.ok, answered.output


async def test_given_the_trunk_when_it_sends_an_invite_then_relayed_to_the_b2bua_unchallenged(edge, session):
    b2bua = edge.start_answering(local_port=edge.b2bua_port)

    call = edge.run_sipp(edge.scenario("invite_answered"), local_port=edge.trunk_port, service="+861057000000",
                         keys={"caller": "8613800138000"})
    answered = edge.finish(b2bua)

    assert call.ok, call.output
    assert answered.ok, answered.output


async def test_given_rotated_password_when_softphone_registers_then_old_refused_and_new_accepted(edge, session):
    seat = await make_sip_seat(session, user="seat-a12", password=PASSWORD)
    await set_sip_password(session, seat.id, "rotated-secret-2026", actor=None)
    await session.commit()

    old = register(edge, "seat-a12", PASSWORD, expected="401")
    new = register(edge, "seat-a12", "rotated-secret-2026")

    assert old.ok, old.output
    assert new.ok, new.output


async def test_given_one_seats_password_when_registering_another_seat_then_403(edge, session):
    await make_sip_seat(session, user="seat-a13", password=PASSWORD)
    await make_sip_seat(session, user="seat-a14", password="another-seat-secret-1")

    hijack = edge.run_sipp(edge.scenario("register", EXPECTED_STATUS="403"), service="seat-a14",
                           keys={"contact_host": "127.0.0.1"}, auth=("seat-a13", PASSWORD))

    assert hijack.ok, hijack.output
