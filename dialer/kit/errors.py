"""One error hierarchy with stable codes, rendered as ``{"error": code, "detail": text}``."""

from __future__ import annotations

from typing import Any


class DialerError(Exception):
    """Base for every error the service reports to a caller."""

    code = "internal_error"
    status = 500
    keep_work = False
    """True when what the request wrote before this error is a fact to keep (e.g. the ledger
    entry of a refused dial): the unit of work commits, then the error is reported."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class NotFound(DialerError):
    code = "not_found"
    status = 404


class Conflict(DialerError):
    code = "conflict"
    status = 409


class InvalidInput(DialerError):
    """Input that parsed but breaks a rule (unknown preset, bad phone number...)."""

    code = "invalid_input"
    status = 422


class ImportRejected(DialerError):
    """A file import refused as a whole; ``errors`` lists every bad line."""

    code = "import_rejected"
    status = 422


class Unauthenticated(DialerError):
    code = "unauthenticated"
    status = 401


class Forbidden(DialerError):
    code = "forbidden"
    status = 403


class PolicyBlocked(DialerError):
    """A dial refused by the policy. The refusal itself is recorded, so the work is kept."""

    code = "policy_blocked"
    status = 409
    keep_work = True


class Unavailable(DialerError):
    code = "unavailable"
    status = 503
