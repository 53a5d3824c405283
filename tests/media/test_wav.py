"""The flushing WAV writer: valid after every flush, and after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import wave
from pathlib import Path

import pytest

from dialer.settings import REPO_ROOT
from dialer.telephony.media.wav import WavError, WavWriter, read_prompt, sha256_file

from .tones import PARTY_HZ, dominant, read_channels, samples_of, tone

SECOND = 8000 * 4  # bytes of one second, two channels, 16-bit


def _stereo(left: bytes, right: bytes) -> bytes:
    out = bytearray(2 * len(left))
    for i in range(0, len(left), 2):
        out[2 * i:2 * i + 2] = left[i:i + 2]
        out[2 * i + 2:2 * i + 4] = right[i:i + 2]
    return bytes(out)


def test_given_a_new_writer_then_the_file_is_already_an_empty_valid_wav(tmp_path: Path) -> None:
    writer = WavWriter(tmp_path / "a.wav")
    with wave.open(str(tmp_path / "a.wav")) as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate(), file.getnframes()) == (2, 2, 8000, 0)
    writer.close()


def test_given_frames_when_flushed_but_not_closed_then_the_partial_file_holds_them(tmp_path: Path) -> None:
    writer = WavWriter(tmp_path / "a.wav")
    writer.write(_stereo(bytes(16000), tone(PARTY_HZ, 8000)))
    writer.flush()
    writer.write(bytes(SECOND))  # buffered, not flushed
    channels, rate = read_channels(tmp_path / "a.wav")
    assert rate == 8000 and len(channels[1]) == 8000
    assert dominant(channels[1]) == PARTY_HZ
    assert writer.close() == 44 + 2 * SECOND
    assert os.path.getsize(tmp_path / "a.wav") == 44 + 2 * SECOND
    assert len(sha256_file(tmp_path / "a.wav")) == 64


def test_given_a_writer_process_when_killed_mid_record_then_the_wav_holds_the_flushed_audio(tmp_path: Path) -> None:
    path = tmp_path / "crash.wav"
    script = textwrap.dedent(f"""
        import sys, time
        from dialer.telephony.media.wav import WavWriter
        writer = WavWriter({str(path)!r})
        for second in range(3):
            writer.write(bytes([second + 1]) * {SECOND})
            writer.flush()
        writer.write(b"\\x7f" * {SECOND // 2})  # never flushed
        print("ready", flush=True)
        time.sleep(60)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO_ROOT, stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    process.send_signal(signal.SIGKILL)
    process.wait()
    with wave.open(str(path)) as file:
        assert file.getnframes() == 3 * 8000
        frames = file.readframes(file.getnframes())
    assert frames == b"".join(bytes([s + 1]) * SECOND for s in range(3))


def test_given_a_prompt_wav_when_read_then_its_samples(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "p.wav"), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(8000)
        file.writeframes(tone(1800, 800))
    assert samples_of(read_prompt(tmp_path / "p.wav")) == samples_of(tone(1800, 800))


def test_given_a_16khz_prompt_when_read_then_wav_error(tmp_path: Path) -> None:
    with wave.open(str(tmp_path / "p.wav"), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(bytes(100))
    with pytest.raises(WavError):
        read_prompt(tmp_path / "p.wav")
    (tmp_path / "junk.wav").write_bytes(b"not a wav")
    with pytest.raises(WavError):
        read_prompt(tmp_path / "junk.wav")
