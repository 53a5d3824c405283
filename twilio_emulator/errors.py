"""Twilio's REST error body: ``{"code", "message", "more_info", "status"}``."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}


class TwilioApiError(Exception):
    """An error answered the way Twilio answers it; raised by the engine, rendered in one place."""

    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse(error_body(self.status, self.code, self.message), self.status, headers=self.headers)


def not_found(path: str) -> TwilioApiError:
    return TwilioApiError(404, 20404, f"The requested resource {path} was not found")


def unauthenticated() -> TwilioApiError:
    return TwilioApiError(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})


def too_many_requests() -> TwilioApiError:
    return TwilioApiError(429, 20429, "Too Many Requests")


def unavailable() -> TwilioApiError:
    return TwilioApiError(503, 20503, "Service Unavailable")


def bad_request(code: int, message: str) -> TwilioApiError:
    return TwilioApiError(400, code, message)


async def handle_twilio_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TwilioApiError)
    return exc.response()
