"""Checks of single cells in an import file: numbers, amounts, ids, zones. Pure.

Each function takes the cell's text and returns the checked value, or raises
:class:`FieldError` whose message is the reason shown to the person who sent the file.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from dialer.kit.phones import ParsedNumber, PhoneNumberError, parse_phone
from dialer.kit.zones import check_zone


class FieldError(ValueError):
    """A cell whose text breaks its column's rule; the message is the reason shown to people."""


_NUMBER_SEPARATORS = re.compile(r"[;,/；，、]+")
_AMOUNT_NOISE = re.compile(r"[\s,¥￥元]|^(?:CNY|RMB)", re.IGNORECASE)


def split_numbers(text: str) -> list[str]:
    """Split on ``; , /`` (and their full-width forms) and on whitespace — but a piece like
    ``+86 138 0013 8000`` that parses as one number is kept whole."""
    pieces: list[str] = []
    for chunk in _NUMBER_SEPARATORS.split(text):
        chunk = chunk.strip()
        if not chunk:
            continue
        if re.search(r"\s", chunk):
            try:
                parse_phone(chunk, default_region="CN")
            except PhoneNumberError:
                pieces.extend(chunk.split())
                continue
        pieces.append(chunk)
    return pieces


def amount(text: str) -> Decimal:
    cleaned = _AMOUNT_NOISE.sub("", text)
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise FieldError(f"{text!r} is not an amount") from None
    if not value.is_finite():
        raise FieldError(f"{text!r} is not an amount")
    if value < 0:
        raise FieldError(f"amount {text!r} is negative")
    if value != value.quantize(Decimal("0.01")):
        raise FieldError(f"amount {text!r} has more than two decimals")
    if value >= Decimal("1e15"):
        raise FieldError(f"amount {text!r} is too large")
    return value.quantize(Decimal("0.01"))


def non_negative_int(text: str) -> int:
    match = re.fullmatch(r"\+?(\d+)(?:\.0+)?", text)
    if match is None:
        raise FieldError(f"{text!r} is not a whole number of 0 or more")
    value = int(match.group(1))
    if value > 100_000:
        raise FieldError(f"{text!r} is implausibly large")
    return value


_TRUE = {"yes", "y", "true", "1", "是"}
_FALSE = {"no", "n", "false", "0", "否"}


def yes_no(text: str) -> bool:
    key = text.strip().casefold()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise FieldError(f"{text!r} is not yes/no (accepted: yes, no, true, false, 1, 0, 是, 否)")


def time_zone(text: str) -> str:
    try:
        return check_zone(text)
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def currency(text: str) -> str:
    code = text.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise FieldError(f"currency {text!r} is not a 3-letter code such as CNY")
    return code


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number(text: str) -> str:
    """A resident identity card number: 18 characters with a valid check digit, or a legacy
    15-digit number; the birth date inside must be a real date. Returned with an upper-case X."""
    value = text.strip().upper()
    if re.fullmatch(r"\d{17}[\dX]", value):
        birth = value[6:14]
        expected = _ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS)) % 11]
        if value[17] != expected:
            raise FieldError(f"id number {text!r} has a wrong check digit (expected {expected})")
    elif re.fullmatch(r"\d{15}", value):
        birth = "19" + value[6:12]
    else:
        raise FieldError(f"id number {text!r} is not 18 characters (or a legacy 15-digit number)")
    try:
        dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        raise FieldError(f"id number {text!r} holds an impossible birth date {birth}") from None
    return value


def single_zone(number: ParsedNumber) -> str | None:
    """The number's time zone when its prefix allows exactly one, else ``None``."""
    return number.time_zones[0] if len(number.time_zones) == 1 else None
