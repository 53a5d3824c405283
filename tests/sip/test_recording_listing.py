"""A SIP recording is found on disk by its party leg after a restart, with the same id its
callback gave it (derived from the file's name), and only a finished one counts as completed."""

from __future__ import annotations

import io
import wave

from dialer.telephony.sip.recording_files import RecordingFiles, recording_sid


def _wav(seconds: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(b"\0\0" * 2 * 8000 * seconds)
    return buffer.getvalue()


def test_given_a_legs_files_then_listed_with_stable_ids_and_the_unfinished_one_not_complete(tmp_path):
    files = RecordingFiles(tmp_path)
    (tmp_path / "m1-CAabc.wav").write_bytes(_wav(2))
    (tmp_path / "m2-CAabc.wav").write_bytes(b"RIFF")  # cut off mid-write: no complete header
    (tmp_path / "m2-CAabc.json").write_text("{}")  # its sidecar: still recording, or its process stopped
    (tmp_path / "m3-CAother.wav").write_bytes(_wav(1))

    listed = {f.path.name: f for f in files.of_leg("CAabc")}

    assert set(listed) == {"m1-CAabc.wav", "m2-CAabc.wav"}
    assert (listed["m1-CAabc.wav"].complete, listed["m1-CAabc.wav"].channels, listed["m1-CAabc.wav"].duration_s) \
        == (True, 2, 2)
    assert listed["m2-CAabc.wav"].complete is False and listed["m2-CAabc.wav"].channels is None
    assert recording_sid("m1-CAabc.wav") == recording_sid("m1-CAabc.wav") != recording_sid("m2-CAabc.wav")
    assert files.url_for(listed["m1-CAabc.wav"].path) == "sip-recording:m1-CAabc.wav"


def test_given_a_leg_id_that_is_not_one_then_nothing_listed(tmp_path):
    (tmp_path / "m1-CAabc.wav").write_bytes(_wav(1))

    assert RecordingFiles(tmp_path).of_leg("*") == []
    assert RecordingFiles(tmp_path).of_leg("../CAabc") == []
    assert RecordingFiles(tmp_path / "missing").of_leg("CAabc") == []
