"""The OpenAPI document completed where FastAPI leaves it short: the error answers, exact integer bounds.

Every operation's 4xx answers are documented with the bodies ``error_handlers`` renders, in one pass
over the generated document (``document_errors``) rather than route by route: 401 wherever
credentials are asked for, 403 where the security requirement names roles (``auth.deps.require``),
404 wherever a path names a row, 422 (the validation body, or a rule's error) wherever FastAPI parses
input. A route declares only what the pass cannot see, with the condition as its description:
``responses={409: {"description": "`seat_taken`, ..."}}``; the pass gives it the error body.

FastAPI's document model holds ``minimum``/``maximum`` as floats, so a model field's bound comes out
as ``1.0`` and ``kit.bounds.BIGINT_MAX`` as ``9.223372036854776e+18`` (2**63, one past the
column): an integer's bounds are put back as the integers they were, within BIGINT.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dialer.kit.bounds import BIGINT_MAX

_REF = "#/components/schemas/{model}"
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")  # FastAPI's default 422 body, not ours


class ErrorBody(BaseModel):
    """Every error the service reports. Some codes add fields of their own (``violations`` with
    ``policy_blocked``, ``retry_after`` with ``login_throttled``, ``errors`` with ``import_rejected``)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="A stable code: not_found, conflict, forbidden, seat_taken, …")
    detail: str = Field(description="What went wrong, for a person")


class FieldError(BaseModel):
    field: str = Field(description="The field, dotted (`parties.0.name`), or where the input was (`body`)")
    message: str
    type: str | None = Field(description="Pydantic's error type, e.g. `missing`, `int_parsing`, `less_than_equal`")


class ValidationErrorBody(BaseModel):
    """Input that does not parse: every failing field, named."""

    model_config = ConfigDict(extra="forbid")

    error: Literal["validation_error"]
    detail: str = Field(description="Every field's message, `field: message`, joined by `; `")
    fields: list[FieldError]


_GENERIC = {
    "401": ("Not authenticated: no credentials, or a token or key that is expired, revoked or unknown "
            "(`unauthenticated`)"),
    "403": "The caller's role may not do this (`forbidden`)",
    "404": "No such resource, or not one the caller may see (`not_found`)",
    "422": ("The input does not parse (`validation_error`, naming each field), or breaks a rule "
            "(`invalid_input`, `naive_datetime`, `import_rejected`, …)"),
}


def error_schemas() -> dict[str, Any]:
    """The components the error responses refer to."""
    out: dict[str, Any] = {}
    for model in (ErrorBody, ValidationErrorBody):
        schema = model.model_json_schema(ref_template=_REF)
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


_ERROR = {"$ref": _REF.format(model="ErrorBody")}
_UNPARSED = {"anyOf": [{"$ref": _REF.format(model="ValidationErrorBody")}, _ERROR]}


def _operations(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            if method in _METHODS:
                yield operation


def _names_roles(operation: dict[str, Any]) -> bool:
    return any(scopes for requirement in operation.get("security", []) for scopes in requirement.values())


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its error answers and exact integer bounds (done in place, idempotent)."""
    _exact_integer_bounds(document)
    return document_errors(document)


def _exact_integer_bounds(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                if isinstance(node.get(key), float) and node[key].is_integer():
                    node[key] = max(-BIGINT_MAX - 1, min(BIGINT_MAX, int(node[key])))
        for value in node.values():
            _exact_integer_bounds(value)
    elif isinstance(node, list):
        for value in node:
            _exact_integer_bounds(value)


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's 4xx answers and their bodies (done in place, idempotent)."""
    document.setdefault("components", {}).setdefault("schemas", {}).update(error_schemas())
    for operation in _operations(document):
        responses: dict[str, Any] = operation.setdefault("responses", {})
        wanted = []
        if operation.get("security"):
            wanted.append("401")
            if _names_roles(operation):
                wanted.append("403")
        if any(p.get("in") == "path" for p in operation.get("parameters", [])):
            wanted.append("404")
        for status in wanted:
            responses.setdefault(status, {"description": _GENERIC[status]})
        if "422" in responses:
            answer = responses["422"]
            if answer.get("description") in (None, "Validation Error"):
                answer["description"] = _GENERIC["422"]
            answer["content"] = _json(_UNPARSED)
        for status, answer in responses.items():
            if status.startswith("4") and not answer.get("content"):
                answer["content"] = _json(_ERROR)
        operation["responses"] = dict(sorted(responses.items()))
    _drop_unreferenced(document, _FASTAPI_VALIDATION)
    return document


def _drop_unreferenced(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document["components"]["schemas"]
    text = json.dumps([{k: v for k, v in document.items() if k != "components"},
                       {k: v for k, v in schemas.items() if k not in names}])
    for name in names:
        if name in schemas and json.dumps(_REF.format(model=name)) not in text:
            del schemas[name]


def documented(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap an app's ``openapi`` method (which builds its document once, then caches it) so that the
    document it gives is completed."""
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()
        if not completed or completed[0] is not document:
            completed[:] = [complete(document)]
        return document

    return openapi
