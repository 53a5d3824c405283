"""The whisper's voice: text to an 8 kHz mono 16-bit PCM WAV that the media processes play to
the agent's leg. ``Speaker`` is the interface; ``EspeakSpeaker`` renders offline with espeak-ng
and resamples with sox, caching each rendering on disk by the SHA-256 of what determines it.

Resampling is sox's job (``sox in.wav -r 8000 -c 1 -b 16 out.wav``): espeak-ng writes 22.05 kHz,
and going down to 8 kHz needs a proper anti-alias low-pass before decimation; sox's rate effect
does that well, while a small pure-Python resampler would either alias (no filter) or be slow
(a long FIR in Python); ``audioop.ratecv`` has no anti-alias filter and leaves Python in 3.13.
Both executables must be on the service's hosts: CI installs them (scripts/ensure-sip-tools.sh).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shlex
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from dialer.kit.errors import DialerError

SAMPLE_RATE = 8000
DEFAULT_VOICES: Mapping[str, str] = {
    "cmn-CN": "cmn", "cmn": "cmn", "zh-CN": "cmn", "zh": "cmn",
    "en-US": "en-us", "en": "en-us", "en-GB": "en-gb",
}
_FORMAT_VERSION = 1  # part of the cache key: bump when the output format or pipeline changes


class SpeechError(DialerError):
    """Text could not be rendered: the command is missing or failed (``command``, ``stderr``),
    or the language has no voice."""

    code = "speech_failed"
    status = 503

    def __init__(self, detail: str, *, command: Sequence[str] = (), stderr: str = "") -> None:
        super().__init__(detail, command=shlex.join(command), stderr=stderr)
        self.command = list(command)
        self.stderr = stderr


class Speaker(Protocol):
    """Renders text to speech for the agent's leg."""

    async def render(self, text: str, *, language: str) -> Path:
        """The path of an 8 kHz mono 16-bit PCM WAV speaking ``text`` in ``language`` (a tag the
        whisper uses: ``cmn-CN``, ``en-US``). Raises ``SpeechError`` when it cannot."""
        ...


class EspeakSpeaker:
    """espeak-ng + sox, cached in ``cache_dir`` (files are complete or absent: written under a
    temporary name, then renamed). Concurrent renders of one text in this process run once.

    ``voices`` maps language tags to espeak-ng voices (matched case-insensitively, then by the
    primary subtag: ``zh-TW`` falls back to ``zh``); ``rate`` is espeak-ng's words per minute."""

    def __init__(self, cache_dir: Path, *, executable: str = "espeak-ng", sox: str = "sox",
                 voices: Mapping[str, str] = DEFAULT_VOICES, rate: int = 160) -> None:
        if not 80 <= rate <= 450:
            raise ValueError("rate must be within 80..450 words per minute")
        self.cache_dir = cache_dir
        self.executable = executable
        self.sox = sox
        self.voices = {tag.lower(): voice for tag, voice in voices.items()}
        self.rate = rate
        self._pending: dict[str, asyncio.Task[Path]] = {}

    def voice_for(self, language: str) -> str:
        tag = language.strip().lower()
        voice = self.voices.get(tag) or self.voices.get(tag.split("-")[0])
        if voice is None:
            raise SpeechError(f"no espeak-ng voice for language {language!r}")
        return voice

    def path_for(self, text: str, *, language: str) -> Path:
        """Where the rendering of ``text`` is (or will be) cached."""
        key = json.dumps([_FORMAT_VERSION, self.voice_for(language), self.rate, text], ensure_ascii=False)
        return self.cache_dir / f"{hashlib.sha256(key.encode()).hexdigest()}.wav"

    async def render(self, text: str, *, language: str) -> Path:
        if not text.strip():
            raise ValueError("nothing to say: the text is blank")
        path = self.path_for(text, language=language)
        if path.exists():
            return path
        task = self._pending.get(path.name)
        if task is None:
            task = asyncio.create_task(self._render(text, self.voice_for(language), path))
            self._pending[path.name] = task
            task.add_done_callback(lambda _: self._pending.pop(path.name, None))
        return await asyncio.shield(task)  # one caller giving up does not cancel the others' render

    async def _render(self, text: str, voice: str, path: Path) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        stem = f".{path.stem}.{uuid.uuid4().hex}"
        raw, resampled = self.cache_dir / f"{stem}.22k.wav", self.cache_dir / f"{stem}.tmp.wav"
        try:
            # The text goes in on stdin, never on a command line or through a shell. espeak-ng reads
            # ``[[…]]`` as phoneme mnemonics: split the brackets so the text is spoken as written.
            spoken = text.replace("[[", "[ [").encode()
            await _run([self.executable, "-v", voice, "-s", str(self.rate), "-b", "1", "--stdin", "-w", str(raw)],
                       stdin=spoken)
            await _run([self.sox, "-q", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                        "-e", "signed-integer", str(resampled)])
            os.replace(resampled, path)
        finally:
            raw.unlink(missing_ok=True)
            resampled.unlink(missing_ok=True)
        return path


async def _run(command: list[str], *, stdin: bytes | None = None) -> None:
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    except OSError as exc:  # missing executable, not executable
        raise SpeechError(f"cannot run {command[0]!r}: {exc.strerror or exc}", command=command) from exc
    try:
        _, err = await process.communicate(stdin)
    except asyncio.CancelledError:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    stderr = err.decode(errors="replace").strip()
    if process.returncode != 0:
        raise SpeechError(f"{shlex.join(command)} exited with {process.returncode}: {stderr or '(no stderr)'}",
                          command=command, stderr=stderr)
