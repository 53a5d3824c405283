"""Where a leg goes: a seat's softphone (through the edge, by its SIP address) or a party's number
(through the edge to the trunk, in the format the carrier wants)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import phonenumbers

NumberFormat = Literal["e164", "e164_digits", "national"]


class BadDestination(ValueError):
    """A leg's ``to`` is neither a SIP address nor a valid E.164 number."""


@dataclass(frozen=True, slots=True)
class Destination:
    request_uri: str
    to_uri: str
    is_seat: bool


def trunk_number(e164: str, fmt: NumberFormat) -> str:
    """``+8613800000001`` as the trunk wants it: ``+8613800000001``, ``8613800000001`` or national
    digits (``13800000001``; a fixed line keeps its trunk prefix: ``02112345678``)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise BadDestination(f"{e164!r} is not an E.164 number: {exc}") from exc
    if not phonenumbers.is_possible_number(number):
        raise BadDestination(f"{e164!r} is not a possible phone number")
    if fmt == "e164":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if fmt == "e164_digits":
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def destination(to: str, *, domain: str, trunk_host: str | None, fmt: NumberFormat) -> Destination:
    """A seat (``sip:seat-a07@dialer.local``; a bare or ``client:`` identity is taken as a seat of
    the SIP domain) or a number sent to the trunk."""
    if to.startswith("sip:"):
        return Destination(to, to, True)
    if to.startswith("client:") or not to.startswith("+"):
        user = to.removeprefix("client:")
        if not user or any(c in user for c in "@;<> "):
            raise BadDestination(f"{to!r} is not a seat identity")
        uri = f"sip:{user}@{domain}"
        return Destination(uri, uri, True)
    if trunk_host is None:
        raise BadDestination("no SIP trunk is configured (DIALER_SIP_TRUNK_HOST)")
    user = trunk_number(to, fmt)
    uri = f"sip:{user}@{trunk_host}"
    return Destination(uri, uri, False)
