"""The whisper's voice: espeak-ng + sox render 8 kHz mono 16-bit WAVs, cached on disk, once."""

from __future__ import annotations

import array
import asyncio
import json
import math
import sys
import wave
from pathlib import Path

import pytest

from dialer.calls.whisper import render_whisper
from dialer.policy.presets import build_policy
from dialer.telephony.tts import EspeakSpeaker, SpeechError

NASTY = "张三's \"account\"\n$(touch PWNED) `touch PWNED` ; rm -rf ~ | cat /etc/passwd & echo > x\n-v en"


class EspeakSpy:
    """An executable standing in for espeak-ng: it records each invocation (argv and stdin) in
    ``log_dir``, then runs the real espeak-ng with the same arguments and input."""

    def __init__(self, tmp_path: Path) -> None:
        self.log_dir = tmp_path / "spy-log"
        self.log_dir.mkdir()
        self.path = tmp_path / "espeak-spy"
        self.path.write_text(
            f"#!{sys.executable}\n"
            "import json, subprocess, sys, uuid\n"
            "data = sys.stdin.buffer.read()\n"
            f"log = {str(self.log_dir)!r} + '/' + uuid.uuid4().hex\n"
            "open(log + '.stdin', 'wb').write(data)\n"
            "open(log + '.argv', 'w').write(json.dumps(sys.argv[1:]))\n"
            "sys.exit(subprocess.run(['espeak-ng', *sys.argv[1:]], input=data).returncode)\n")
        self.path.chmod(0o755)

    def calls(self) -> list[tuple[list[str], bytes]]:
        return [(json.loads(argv.read_text()), argv.with_suffix(".stdin").read_bytes())
                for argv in sorted(self.log_dir.glob("*.argv"))]


def mandarin_whisper() -> tuple[str, str]:
    w = render_whisper(build_policy("agency-default"), party_role="third_party", relation="spouse",
                       party_name="李四", client_name="招商银行", company="某某催收公司")
    return w.text, w.language


def read_wav(path: Path) -> tuple[wave._wave_params, array.array[int]]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        samples = array.array("h", wav.readframes(params.nframes))
    return params, samples


def rms(samples: array.array[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


def cached_files(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.iterdir())


async def test_given_a_mandarin_whisper_when_rendered_then_an_8khz_mono_16bit_wav_with_speech(tmp_path: Path) -> None:
    text, language = mandarin_whisper()
    path = await EspeakSpeaker(tmp_path / "cache").render(text, language=language)

    params, samples = read_wav(path)
    assert (params.nchannels, params.sampwidth, params.framerate, params.comptype) == (1, 2, 8000, "NONE")
    assert params.nframes / params.framerate > 1.0
    assert rms(samples) > 500, "the rendering is (nearly) silent"
    assert path.parent == tmp_path / "cache"


async def test_given_a_rendered_text_when_rendered_again_then_the_cached_file_without_a_subprocess(
        tmp_path: Path) -> None:
    spy = EspeakSpy(tmp_path)
    speaker = EspeakSpeaker(tmp_path / "cache", executable=str(spy.path))
    text, language = mandarin_whisper()
    first = await speaker.render(text, language=language)
    mtime = first.stat().st_mtime_ns

    second = await EspeakSpeaker(tmp_path / "cache", executable=str(spy.path)).render(text, language=language)

    assert second == first and second.stat().st_mtime_ns == mtime
    assert len(spy.calls()) == 1


async def test_given_other_voice_or_rate_when_rendered_then_a_separate_cache_entry(tmp_path: Path) -> None:
    speaker = EspeakSpeaker(tmp_path / "cache")
    english = await speaker.render("Hello", language="en-US")
    slower = await EspeakSpeaker(tmp_path / "cache", rate=120).render("Hello", language="en-US")
    mandarin = await speaker.render("Hello", language="cmn-CN")
    assert len({english, slower, mandarin}) == 3


async def test_given_concurrent_renders_of_one_text_then_one_subprocess_and_one_file(tmp_path: Path) -> None:
    spy = EspeakSpy(tmp_path)
    speaker = EspeakSpeaker(tmp_path / "cache", executable=str(spy.path))
    text, language = mandarin_whisper()

    paths = await asyncio.gather(*(speaker.render(text, language=language) for _ in range(5)))

    assert len(set(paths)) == 1
    assert len(spy.calls()) == 1
    assert cached_files(tmp_path / "cache") == [paths[0].name]


async def test_given_two_speakers_racing_on_one_cache_then_a_single_complete_file(tmp_path: Path) -> None:
    """Two processes sharing the cache cannot coordinate: each renders, and the renames leave
    one complete file and no temporary ones."""
    text, language = mandarin_whisper()
    a, b = EspeakSpeaker(tmp_path / "cache"), EspeakSpeaker(tmp_path / "cache")

    got = await asyncio.gather(a.render(text, language=language), b.render(text, language=language))

    assert got[0] == got[1]
    assert cached_files(tmp_path / "cache") == [got[0].name]
    params, _ = read_wav(got[0])
    assert params.nframes / params.framerate > 1.0


async def test_given_a_missing_executable_then_speech_error_naming_the_command(tmp_path: Path) -> None:
    speaker = EspeakSpeaker(tmp_path / "cache", executable="/nonexistent/espeak-ng")
    with pytest.raises(SpeechError) as raised:
        await speaker.render("你好", language="cmn-CN")
    assert "/nonexistent/espeak-ng" in str(raised.value)
    assert raised.value.command[0] == "/nonexistent/espeak-ng"
    assert raised.value.body()["error"] == "speech_failed"
    assert not (tmp_path / "cache").exists() or cached_files(tmp_path / "cache") == []


async def test_given_a_missing_resampler_then_speech_error_naming_it_and_no_file_left(tmp_path: Path) -> None:
    speaker = EspeakSpeaker(tmp_path / "cache", sox="/nonexistent/sox")
    with pytest.raises(SpeechError) as raised:
        await speaker.render("你好", language="cmn-CN")
    assert "/nonexistent/sox" in str(raised.value)
    assert cached_files(tmp_path / "cache") == []


async def test_given_a_failing_render_then_speech_error_with_command_and_stderr(tmp_path: Path) -> None:
    speaker = EspeakSpeaker(tmp_path / "cache", voices={"xx": "xyzzy"})
    with pytest.raises(SpeechError) as raised:
        await speaker.render("hello", language="xx")
    assert "xyzzy" in str(raised.value) and "espeak-ng" in str(raised.value)
    assert "voice does not exist" in raised.value.stderr
    assert cached_files(tmp_path / "cache") == []


async def test_given_quotes_newlines_and_shell_metacharacters_then_spoken_literally(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    spy = EspeakSpy(tmp_path)

    path = await EspeakSpeaker(tmp_path / "cache", executable=str(spy.path)).render(NASTY, language="cmn-CN")

    [(argv, stdin)] = spy.calls()
    assert stdin == NASTY.encode(), "the text reached espeak-ng unchanged, on stdin"
    assert all("PWNED" not in arg for arg in argv)
    assert not list(tmp_path.rglob("PWNED")) and not (tmp_path / "x").exists()
    params, samples = read_wav(path)
    assert params.nframes / params.framerate > 1.0 and rms(samples) > 500


def test_given_language_tags_then_voices_by_tag_then_primary_subtag() -> None:
    speaker = EspeakSpeaker(Path("/unused"))
    assert speaker.voice_for("cmn-CN") == "cmn"
    assert speaker.voice_for("zh-TW") == "cmn"
    assert speaker.voice_for("EN-us") == "en-us"
    with pytest.raises(SpeechError):
        speaker.voice_for("fr-FR")
