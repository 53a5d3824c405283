"""PATCH bodies: a field left out keeps its value; a field given as null clears it only where null
is a value the row may hold.

``Omittable[X]`` is a field that may be left out but not set to null (a case's status, a user's
display name: their columns hold no null). An explicit null is a 422 naming the field instead of
reaching the database as a NOT NULL violation (a 500), and the OpenAPI document does not offer null
for it. A field whose null is meaningful (a seat's team: none) stays ``X | None``.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

NULL_REFUSED = "may not be null: leave the field out to keep its value"


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError(NULL_REFUSED)
    return value


class _NotNull:
    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(_refuse_null, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return without_null(handler(schema))


def without_null(json_schema: JsonSchemaValue) -> JsonSchemaValue:
    """``json_schema`` less its ``null`` alternative (``anyOf: [X, {"type": "null"}]`` becomes ``X``)."""
    options = json_schema.get("anyOf")
    if not options:
        return json_schema
    kept = [option for option in options if option != {"type": "null"}]
    rest = {key: value for key, value in json_schema.items() if key != "anyOf"}
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


Omittable = Annotated[T | None, _NotNull()]
"""A PATCH field that may be left out (None: not given) but not given as null."""
