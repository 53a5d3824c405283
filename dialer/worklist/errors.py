"""The work list's errors, each with its stable code."""

from __future__ import annotations

from dialer.kit.errors import Conflict


class CaseNotHeld(Conflict):
    code = "case_not_held"


class CampaignNotRunning(Conflict):
    code = "campaign_not_running"
