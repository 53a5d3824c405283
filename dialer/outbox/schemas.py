"""The integration endpoints' API: what comes in, what goes out. A signing secret appears in one
response only, the one that made it (create, rotate-secret); every other read leaves it out.

What input can be judged alone is checked here, naming the field (an absolute http(s) URL, known
event types, the in-flight cap's range); what needs the database (the clients exist, the owner is
an integration user) is the service's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasChoices, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from dialer.kit.bounds import Instant, RowId
from dialer.kit.patch import Omittable
from dialer.kit.schemas import Schema
from dialer.outbox.events import envelope
from dialer.outbox.models import Delivery, DeliveryAttempt, DeliveryStatus, EventType, WebhookEndpoint, WebhookEvent

_KNOWN = frozenset(t.value for t in EventType)
_EVENT_TYPES = ", ".join(t.value for t in EventType)
MAX_IN_FLIGHT = 32
_DELIVERY_COLUMNS = ("id", "endpoint_id", "status", "attempts", "next_attempt_at", "leased_until", "last_status_code",
                     "last_error", "created_at", "delivered_at")


def _http_url(value: str) -> str:
    text = value.strip()
    try:
        parts = urlsplit(text)
    except ValueError:  # an unclosed IPv6 bracket
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an absolute http:// or https:// URL, got {text!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("credentials in the URL are refused (they would show in every listing); the receiver "
                         "checks the signature instead")
    return text


def _known_types(values: list[str]) -> list[str]:
    unknown = [v for v in values if v not in _KNOWN]
    if unknown:
        raise ValueError(f"unknown event type {', '.join(repr(u) for u in unknown)}; known: {_EVENT_TYPES}")
    return list(dict.fromkeys(values))


HttpUrl = Annotated[str, Field(max_length=500, description="Where events are POSTed: an absolute http(s) URL"),
                    AfterValidator(_http_url)]
EventTypes = Annotated[list[str], Field(min_length=1, description=f"The event types it takes: {_EVENT_TYPES}"),
                       AfterValidator(_known_types)]
ClientIds = Annotated[list[RowId], Field(min_length=1, description="Only these clients' events (null: every client's)")]
InFlight = Annotated[int, Field(ge=1, le=MAX_IN_FLIGHT, description="Requests out to it at once")]
Description = Annotated[str, Field(max_length=200)]


class EndpointCreate(Schema):
    url: HttpUrl
    description: Description = ""
    event_types: EventTypes
    client_ids: ClientIds | None = None
    enabled: bool = True
    max_in_flight: InFlight = 4
    owner_id: RowId | None = Field(None, description="The integration user who may read and replay its deliveries")


class EndpointUpdate(Schema):
    """Only the fields given change. ``client_ids: null`` means every client's events;
    ``enabled: true`` clears the reason it was disabled."""

    url: Omittable[HttpUrl] = None
    description: Omittable[Description] = None
    event_types: Omittable[EventTypes] = None
    client_ids: ClientIds | None = None
    enabled: Omittable[bool] = None
    disabled_reason: str | None = Field(None, max_length=200, description="Why, with enabled: false")
    max_in_flight: Omittable[InFlight] = None
    owner_id: RowId | None = None

    @field_validator("disabled_reason")
    @classmethod
    def _only_when_disabling(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("enabled") is not False:
            raise ValueError("only with enabled: false")
        return value


class EndpointOut(Schema):
    id: int
    url: str
    description: str
    event_types: list[str]
    client_ids: list[int] | None
    enabled: bool = Field(validation_alias=AliasChoices("enabled", "active"))
    disabled_reason: str | None
    max_in_flight: int
    owner_id: int | None
    previous_secret_until: dt.datetime | None = Field(
        description="While a rotation overlaps, the previous secret also signs until this instant")
    created_at: dt.datetime
    updated_at: dt.datetime


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="The signing secret (Standard Webhooks, whsec_…): shown in this response "
                                    "only, store it now")

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, secret: str) -> EndpointWithSecret:
        return cls.model_validate({**EndpointOut.model_validate(endpoint).model_dump(), "secret": secret})


class SecretRotation(Schema):
    overlap_hours: float = Field(24, ge=0, le=168, description="How long the previous secret keeps signing too "
                                                               "(0: dropped at once; at most 7 days)")


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: str = Field(description="The webhook-id every attempt carries")
    event_type: str
    occurred_at: dt.datetime
    status: DeliveryStatus
    attempts: int = Field(description="Attempts since it was made or last replayed (its retry budget's count)")
    next_attempt_at: dt.datetime
    leased_until: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None

    @classmethod
    def of(cls, delivery: Delivery, event: WebhookEvent, /, **more: Any) -> Self:
        own = {name: getattr(delivery, name) for name in _DELIVERY_COLUMNS}
        return cls.model_validate({**own, "event_id": event.event_id, "event_type": event.type,
                                   "occurred_at": event.occurred_at, **more})


class AttemptOut(Schema):
    attempted_at: dt.datetime
    status_code: int | None = Field(description="The answer's status; null: no answer")
    latency_ms: int
    error: str | None


class DeliveryDetail(DeliveryOut):
    history: list[AttemptOut] = Field(description="Every request made for it, oldest first, across replays")
    event: dict[str, Any] = Field(description="The body the receiver gets")

    @classmethod
    def with_history(cls, delivery: Delivery, event: WebhookEvent, history: Sequence[DeliveryAttempt]) -> Self:
        return cls.of(delivery, event, event=envelope(event),
                      history=[AttemptOut.model_validate(a) for a in history])


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: int | None = Field(description="Pass as `cursor` for the next (older) page; null on the last")

    @classmethod
    def of(cls, rows: Sequence[tuple[Delivery, WebhookEvent]], limit: int) -> DeliveryPage:
        """A page of (delivery, event) rows fetched newest first with ``limit``."""
        return cls(items=[DeliveryOut.of(d, e) for d, e in rows],
                   next_cursor=rows[-1][0].id if len(rows) == limit else None)


class EndpointReplay(Schema):
    """Either ``{"dead": true}`` (every dead delivery) or ``{"from": …, "to": …}`` (every event that
    occurred in [from, to): missing deliveries made, existing ones sent again)."""

    model_config = ConfigDict(populate_by_name=True)

    dead: bool = False
    from_: Instant | None = Field(None, alias="from")
    to: Instant | None = None

    @model_validator(mode="after")
    def _one_way(self) -> EndpointReplay:
        ranged = self.from_ is not None or self.to is not None
        if self.dead == ranged:
            raise ValueError("give either 'dead': true or both 'from' and 'to', not both and not neither")
        if ranged and (self.from_ is None or self.to is None):
            raise ValueError("a range needs both 'from' and 'to'")
        return self


class ReplayOut(Schema):
    replayed: int = Field(description="Deliveries due again now (made or reset)")
    created: int = Field(description="Of which made for events the endpoint had no delivery of")
    in_flight: int = Field(description="Left alone: a request for them is out right now")
