"""Presets shipped as data, and a client's effective policy = preset deep-merged with overrides."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from pydantic import ValidationError

from dialer.kit.errors import InvalidInput
from dialer.policy.document import RULES, WEEKDAYS, Interval, PolicyDocument


def _presets_dir() -> Traversable:
    return resources.files("dialer.policy") / "presets"


def list_presets() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(entry.name.removesuffix(".json") for entry in _presets_dir().iterdir() if entry.name.endswith(".json"))


def _preset_data(name: str) -> dict[str, Any]:
    known = list_presets()
    if name not in known:  # also keeps the name from ever being used as a path
        raise InvalidInput(f"unknown policy preset {name!r}; known: {', '.join(known)}", field="preset")
    return json.loads((_presets_dir() / f"{name}.json").read_text(encoding="utf-8"))


def load_preset(name: str) -> PolicyDocument:
    """The preset as a validated document; :class:`InvalidInput` when no such preset exists."""
    return PolicyDocument.model_validate(_preset_data(name))


def _deep_merge(base: Any, override: Any) -> Any:
    """Dicts merge key by key, recursively; anything else (lists, scalars, null) replaces."""
    if isinstance(base, dict) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else value
        return merged
    return override


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = "overrides"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown field (not part of the policy schema; check the spelling)"
    return str(error["msg"]).removeprefix("Value error, ")


def build_policy(preset: str, overrides: Mapping[str, Any] | None = None) -> PolicyDocument:
    """The effective policy: ``preset``'s document with ``overrides`` deep-merged in, validated.

    Raises :class:`InvalidInput` for an unknown preset (``field="preset"``) or an invalid
    override; then ``detail`` names the first bad field path (``overrides.caps.x: ...``) and
    ``errors`` lists every one as ``{"field": ..., "message": ...}``.
    """
    data = _preset_data(preset)
    if overrides is not None:
        if not isinstance(overrides, Mapping):
            raise InvalidInput("policy overrides must be an object", field="overrides")
        data = _deep_merge(data, overrides)
    try:
        document = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": _field_path(e["loc"]), "message": _message(e)} for e in exc.errors()]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        detail = f"{errors[0]['field']}: {errors[0]['message']}{more}"
        raise InvalidInput(detail, field=errors[0]["field"], errors=errors) from None
    floor = int(_preset_data(preset).get("recordings", {}).get("minimum_days", 0))
    if document.recordings.minimum_days < floor:
        field = "overrides.recordings.minimum_days"
        message = f"the {preset} preset keeps recordings at least {floor} days; a client may not lower that"
        raise InvalidInput(f"{field}: {message}", field=field, errors=[{"field": field, "message": message}])
    return document


# --- describe ----------------------------------------------------------------------------


def _day_text(intervals: tuple[Interval, ...]) -> str:
    return ", ".join(f"{interval.start}-{interval.end}" for interval in intervals) or "closed"


def _window_lines(doc: PolicyDocument) -> list[str]:
    window = doc.calling_window
    groups: list[list[str]] = []  # [first day, last day, text] for runs of equal days
    for day in WEEKDAYS:
        text = _day_text(getattr(window.weekdays, day))
        if groups and groups[-1][2] == text:
            groups[-1][1] = day
        else:
            groups.append([day, day, text])
    lines = [f"  {first if first == last else f'{first}-{last}'}: {text}" for first, last, text in groups]
    for holiday in window.holidays:
        note = f" ({holiday.note})" if holiday.note else ""
        lines.append(f"  {holiday.date.isoformat()}{note}: {_day_text(holiday.intervals)}")
    if window.on_calendar_holidays is not None:
        lines.append(f"  public holidays ({doc.holiday_calendar} calendar): {_day_text(window.on_calendar_holidays)}")
    if window.unknown_zone_strategy == "all_plausible":
        lines.append("  unknown zone: allowed only when allowed in every plausible zone")
    else:
        lines.append(f"  unknown zone: the client's default zone ({doc.default_time_zone})")
    if window.zone_sources == "recorded_only":
        lines.append("  plausible zones: the party's recorded zone alone when it has one")
    else:
        lines.append("  plausible zones: the party's recorded zone and every zone its numbers indicate, all at once")
    return lines


def _cap(value: int | None, text: str) -> str:
    return "off" if value is None else text.format(value)


def _rule_details(doc: PolicyDocument) -> dict[str, str]:
    caps, us, unreachable = doc.caps, doc.us_style, doc.third_party.only_after_debtor_unreachable
    calendar = us.counting == "calendar_days"
    return {
        "seat_only": "only a logged-in agent at a registered seat may originate a call",
        "manual_only": "agent-attended calls only, no predictive or agentless dialling",
        "sms_blocked": "SMS allowed by the client" if doc.rules.sms_allowed else "no SMS to debtors or third parties",
        "record_everything": "every call has a call record, every answered call a recording",
        "calling_window": "local time of the called party, see the window below",
        "third_party_daily_cap": _cap(caps.third_party_daily_cap, "at most {} attempts per local day to one third party"),
        "third_party_hourly_cap": _cap(
            caps.third_party_hourly_cap,
            f"at most {{}} attempts to one third party in any rolling {caps.third_party_hourly_window_minutes} minutes",
        ),
        "debtor_number_daily_cap": _cap(caps.debtor_number_daily_cap, "at most {} attempts per local day to one debtor number"),
        "debtor_conversation_daily_cap": _cap(
            caps.debtor_conversation_daily_cap, "at most {} effective conversations per debtor per local day"
        ),
        "stop_contact": "never call a stop-listed, opted-out or hostile party",
        "invalid_number": "never dial a number marked invalid",
        "wrap_up_first": "notes for the last call before the next dial",
        "no_unauthorised_waiver": "any reduction needs the client's written authorisation reference",
        "third_party_after_debtor_unreachable": "off"
        if unreachable is None
        else f"third parties only after {unreachable.failed_attempts_in_a_row} failed debtor attempts in a row",
        "us_7_in_7": _cap(us.attempts_in_7_days_cap, "at most {} attempts in 7 consecutive "
                          + ("local calendar days" if calendar else "days (rolling 7 x 24 hours)") + " per person per debt"),
        "us_pause_after_conversation": _cap(
            us.pause_after_conversation_days,
            "no call on the {} local calendar days from the day of a conversation" if calendar
            else "no call within {} days (rolling 24 hours each) after a conversation",
        ),
        "us_third_party_once": "a third party is spoken to once" if us.third_party_spoken_once else "off",
        "calling_window_no_overlap": "refused when the windows of the party's plausible zones never overlap",
    }


def describe(doc: PolicyDocument) -> str:
    """A multi-line English summary of the effective policy, with the Chinese rule names."""
    enabled, details = set(doc.enabled_rules()), _rule_details(doc)
    ob, counting = doc.obligations, doc.counting
    lines = [
        f"Policy {doc.name}" + (f": {doc.description}" if doc.description else ""),
        f"Language {doc.language}; default time zone {doc.default_time_zone}; holiday calendar {doc.holiday_calendar}",
        "",
        "Rules:",
        *(
            f"  [{'on' if rule.id in enabled else 'off':<3}] {rule.id} {rule.name_zh}: {details[rule.id]}"
            for rule in RULES
        ),
        "",
        "Calling window (end exclusive):",
        *_window_lines(doc),
        "",
        f"Attempts counted: {', '.join(counting.counted_outcomes)} (outbound calls only)",
        f"Inbound conversations count as conversations: {'yes' if counting.conversation_counts_inbound else 'no'}",
        f"Third parties told apart as debt-related or unrelated: {'yes' if doc.third_party.debt_related_distinction else 'no'}",
        "",
        "Obligations (planned work, never a block):",
        f"  contactable cases: {_cap(ob.min_calls_per_week_contactable, 'at least {} calls a week')}",
        f"  lost-contact cases: {_cap(ob.min_calls_per_month_lost, 'at least {} calls a month')}",
        f"  follow-up: {_cap(ob.follow_up_days_effective, 'every {} day(s)')} if effective,"
        f" {_cap(ob.follow_up_days_other, 'every {} day(s)')} otherwise",
        f"  callable from overdue day {ob.callable_from_overdue_day}",
        f"  field visit: {_cap(ob.no_contact_days_before_field_visit, 'after {} days in a row without contact')}",
        f"  promise to pay: {_cap(ob.ptp_reminder_working_days_before, 'reminder {} working day(s) before')};"
        f" due-day calls at {', '.join(ob.ptp_due_day_calls) or 'none'}",
        "",
        f"Recordings kept {doc.recordings.retention_days} days after they are stored"
        f" (never fewer than {doc.recordings.minimum_days}); a legal hold keeps them longer",
        "",
        f"Whisper: {doc.whisper.template}",
        f"Third-party reminder: {doc.whisper.third_party_reminder}",
    ]
    return "\n".join(lines)
