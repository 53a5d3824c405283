"""The agent's own API: session at a seat, states, the work queue, preview and dial."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/agent", tags=["agent"])
