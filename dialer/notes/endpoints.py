"""Wrap-up notes, dispositions and promises to pay."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["notes"])
