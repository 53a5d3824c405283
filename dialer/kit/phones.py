"""Phone numbers: parse to E.164 with ``phonenumbers`` and read what a number says of its zone."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType
from phonenumbers import timezone as pn_timezone


class PhoneNumberError(ValueError):
    """A number that cannot be dialled: the message says why."""


@dataclass(frozen=True, slots=True)
class ParsedNumber:
    e164: str
    region: str | None
    kind: str  # mobile | home | other (fixed lines are "home" until told otherwise)
    time_zones: tuple[str, ...]  # plausible IANA zones from the number's prefix


_NUMBER_KINDS = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "home",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile",
}


def parse_phone(raw: str, default_region: str = "CN") -> ParsedNumber:
    """Parse a number as written in a client's file or an API call.

    Accepts E.164 (``+8613800138000``) or a national form for ``default_region``.
    Raises :class:`PhoneNumberError` for anything that is not a valid, dialable number.
    """
    text = (raw or "").strip()
    if not text:
        raise PhoneNumberError("empty phone number")
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except NumberParseException as exc:
        raise PhoneNumberError(f"unparseable phone number {text!r}: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneNumberError(f"not a valid phone number: {text!r}")
    zones = tuple(
        z for z in pn_timezone.time_zones_for_number(number) if z != pn_timezone.UNKNOWN_TIMEZONE
    )
    return ParsedNumber(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(number),
        kind=_NUMBER_KINDS.get(phonenumbers.number_type(number), "other"),
        time_zones=zones,
    )
