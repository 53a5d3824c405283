"""The control protocol's error: a stable code (see the package docstring) and a readable detail."""

from __future__ import annotations


class CommandError(Exception):
    """A refused command; rendered as ``{"id", "ok": false, "error": code, "detail", "field"?}``."""

    def __init__(self, code: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field

    def reply(self, request_id: object) -> dict[str, object]:
        out: dict[str, object] = {"id": request_id, "ok": False, "error": self.code, "detail": self.detail}
        if self.field is not None:
            out["field"] = self.field
        return out


def bad_request(field: str, detail: str) -> CommandError:
    return CommandError("bad_request", f"{field}: {detail}", field=field)
