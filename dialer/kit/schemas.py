"""Shared API schema pieces: aware datetimes, pagination."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from dialer.kit.text import first_refused
from dialer.kit.zones import check_zone

T = TypeVar("T")


def _require_offset(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime refused: give an ISO 8601 time with an offset, e.g. 2026-11-24T09:30:00+08:00")
    return value


AwareDatetime = Annotated[dt.datetime, AfterValidator(_require_offset)]


class Schema(BaseModel):
    """The base of every API schema. Text holding a control character (NUL, escape, a lone
    surrogate …: :mod:`dialer.kit.text`) is refused with a 422 naming the field, on either
    database, before it reaches a query."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if isinstance(value, (str, list, tuple, dict)):
            found = first_refused(value)
            if found is not None:
                raise ValueError(f"control character refused ({found}); text may hold tab and line breaks, "
                                 "no other control character")
        return value


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_after: int | None = Field(description="Pass as `after` to get the next page; null on the last page")


class PageParams(BaseModel):
    limit: int = Field(50, ge=1, le=500)
    after: int | None = Field(None, ge=0, description="Return rows with id greater than this")


def page_of(rows: Sequence[Any], limit: int, out: type[BaseModel]) -> Page[Any]:
    """A page of ``rows`` (ordered by id, fetched with ``limit``) rendered with ``out``."""
    return Page(items=[out.model_validate(r) for r in rows], next_after=rows[-1].id if len(rows) == limit else None)


TimeZoneName = Annotated[str, AfterValidator(check_zone)]
