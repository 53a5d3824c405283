"""``/v1/calendars``: the holiday and working-day calendars (admins edit, everyone signed in reads)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["calendars"])
