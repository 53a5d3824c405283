"""The URL's own text (query and path parameters) is held to the same rule as a body's text
(:mod:`dialer.kit.text`): one app-wide dependency, so no endpoint can forget it."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from dialer.kit.text import refused_character


async def refuse_control_characters(request: Request) -> None:
    """A query or path parameter holding a control character is a 422 naming it, before any
    other dependency (a session, a query) sees it."""
    for where, params in (("query", request.query_params.multi_items()), ("path", request.path_params.items())):
        for name, value in params:
            found = refused_character(name) or (refused_character(value) if isinstance(value, str) else None)
            if found is not None:
                raise RequestValidationError([{
                    "loc": (where, name), "type": "value_error", "input": value,
                    "msg": f"control character refused ({found}); no control character may appear in a URL's parameters",
                }])
