"""The SIP path's commands: each media process's share of the RTP ports, and a seat's SIP password
set from the command line (generated and printed once; typed twice)."""

from __future__ import annotations

import asyncio

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from dialer.cli import _in_session, _settings, app
from dialer.seats.models import Seat, SeatCarrier, SipCredential
from dialer.settings import Settings
from dialer.sip_cli import media_command, media_ports

runner = CliRunner()


@pytest.mark.parametrize("count", [1, 2, 3, 8])
def test_given_n_media_processes_then_their_port_ranges_are_even_disjoint_and_inside_the_range(count: int) -> None:
    settings = Settings(sip_media_processes=count, sip_rtp_port_min=20000, sip_rtp_port_max=29999)

    ranges = [media_ports(settings, i) for i in range(count)]

    assert all(first % 2 == 0 and last > first for first, last in ranges)
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))
    assert ranges[0][0] >= 20000 and ranges[-1][1] <= 29999


def test_given_an_index_beyond_the_processes_then_refused_with_the_setting_named() -> None:
    with pytest.raises(typer.BadParameter, match="DIALER_SIP_MEDIA_PROCESSES=2"):
        media_ports(Settings(sip_media_processes=2), 2)


def test_given_settings_then_the_media_command_uses_the_carriers_socket_and_the_media_address(tmp_path) -> None:
    settings = Settings(data_dir=tmp_path, sip_media_ip="127.0.0.2", sip_media_processes=2)

    command = media_command(settings, 1)

    assert command[1:3] == ["-m", "dialer.telephony.media"]
    assert command[command.index("--control") + 1] == str(tmp_path / "sip-run" / "media-1.sock")
    assert command[command.index("--ip") + 1] == "127.0.0.2"


async def _sip_seat(code: str) -> None:
    async def add(session) -> None:
        session.add(Seat(code=code, softphone_identity=f"sip:{code.lower()}@dialer.local", carrier=SeatCarrier.SIP))

    await _in_session(_settings(), add)


async def _credential(code: str) -> SipCredential | None:
    async def read(session):
        seat = (await session.execute(select(Seat).where(Seat.code == code))).scalar_one()
        return (await session.execute(select(SipCredential).where(SipCredential.seat_id == seat.id))).scalar_one_or_none()

    return await _in_session(_settings(), read, migrate=False)


def test_given_a_sip_seat_when_generate_then_printed_once_and_only_digests_stored(cli_env) -> None:
    asyncio.run(_sip_seat("A07"))

    result = runner.invoke(app, ["seat-sip-password", "A07", "--generate"])

    assert result.exit_code == 0, result.output
    credential = asyncio.run(_credential("A07"))
    assert credential is not None and len(credential.ha1) == 32
    printed = [word for word in result.output.split() if len(word) >= 12 and word.isprintable()]
    assert not any(credential.ha1 in word for word in printed)


def test_given_two_different_passwords_typed_then_refused_and_nothing_stored(cli_env, monkeypatch) -> None:
    asyncio.run(_sip_seat("A08"))
    answers = iter(["correct horse battery", "correct horse batterY"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    result = runner.invoke(app, ["seat-sip-password", "A08"])

    assert result.exit_code == 2 and "differ" in result.output
    assert asyncio.run(_credential("A08")) is None


def test_given_an_unknown_seat_then_a_readable_error(cli_env) -> None:
    result = runner.invoke(app, ["seat-sip-password", "NOPE", "--generate"])

    assert result.exit_code == 2 and result.output.startswith("error:"), result.output


def test_given_a_relative_data_dir_as_by_default_then_the_media_command_names_an_absolute_socket(
        tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the demo and sip-up start media processes from other directories

    command = media_command(Settings(data_dir=".dialer"), 0)

    assert command[command.index("--control") + 1] == str(tmp_path / ".dialer" / "sip-run" / "media-0.sock")
