"""``/v1/audit``: what an auditor reads (the audit log, the decisions ledger) and exports."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["audit"])
