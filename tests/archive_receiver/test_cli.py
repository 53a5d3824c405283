"""``python -m archive_receiver``: a real process on a free port, secrets from the environment or the
command line, one log line per event that never holds a secret or a media link."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from archive_receiver.__main__ import main
from dialer.kit.ports import free_port
from tests.archive_receiver import OLD_SECRET, SECRET, MediaServer, recording_stored, serving, signed, wav

REPO = Path(__file__).resolve().parents[2]


async def _until_healthy(url: str, process: subprocess.Popen[str]) -> None:
    """Wait for the process to answer (it may take a while to import); fail if it exits first."""
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if (await http.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError(f"the receiver did not come up: {process.communicate()[1]}")


async def test_given_the_cli_when_started_then_it_answers_health_and_stores_a_signed_recording(tmp_path):
    port, store = free_port(), tmp_path / "archive"
    process = subprocess.Popen(
        [sys.executable, "-m", "archive_receiver", "--secret", OLD_SECRET, "--store", str(store), "--port", str(port)],
        cwd=REPO, env={**os.environ, "ARCHIVE_RECEIVER_SECRETS": f" {SECRET} ,"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        await _until_healthy(url, process)
        audio, media = wav(), MediaServer()
        async with serving(media.app()) as [media.url], httpx.AsyncClient(timeout=10) as http:
            media.files["RE1.wav"] = audio
            stored = recording_stored(media.link("RE1.wav"), audio)
            body = json.dumps(stored).encode()
            answer = await http.post(f"{url}/webhooks", content=body,
                                     headers=signed(body, msg_id=stored["id"], at=datetime.now(timezone.utc)))
            listed = (await http.get(f"{url}/received", params={"type": "recording.stored"})).json()
    finally:
        process.send_signal(signal.SIGINT)
        _, log = process.communicate(timeout=30)

    assert answer.status_code == 200, answer.text
    assert (store / answer.json()["file"]).read_bytes() == audio
    assert [row["webhook_id"] for row in listed] == [stored["id"]]
    assert process.returncode == 0
    assert f"{stored['id']} recording.stored stored" in log and "2 secret(s)" in log
    for secret_or_link in (SECRET, OLD_SECRET, SECRET.removeprefix("whsec_"), "TOKEN-RE1", "signature="):
        assert secret_or_link not in log


def test_given_no_secret_anywhere_when_main_runs_then_it_exits_2_without_serving(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ARCHIVE_RECEIVER_SECRETS", raising=False)

    status = main(["--store", str(tmp_path / "archive")])

    assert status == 2 and "no secret" in capsys.readouterr().err
    assert not (tmp_path / "archive").exists()


def test_given_a_malformed_secret_when_main_runs_then_it_exits_2_without_echoing_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARCHIVE_RECEIVER_SECRETS", f"{SECRET},whsec_not*base64")

    status = main(["--store", str(tmp_path / "archive")], prog="dialer archive-receiver")

    err = capsys.readouterr().err
    assert status == 2 and "dialer archive-receiver: secret #2 is not a Standard Webhooks secret" in err
    assert "not*base64" not in err
