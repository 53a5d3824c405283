"""The signing secret: from settings, or generated once and kept in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def read_secret(path: Path) -> str | None:
    """The secret kept at ``path``, or None when there is none (or it is too short to be one)."""
    if path.is_file():
        value = path.read_text().strip()
        if len(value) >= 32:
            return value
    return None


def load_or_create_secret(path: Path) -> str:
    existing = read_secret(path)
    if existing is not None:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
