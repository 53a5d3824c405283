"""The subset of TwiML the SIP carrier follows: what our own webhooks serve for an outbound call.

The SIP carrier runs the same call flow as Twilio by fetching the same TwiML documents from the
same signed webhooks (``/webhooks/twilio/voice/agent`` and ``…/voice/party``), so nothing above
the carrier knows which carrier is in use and the flow has one definition (``webhooks/twiml.py``).
Those documents use ``<Say>`` (the whisper), ``<Dial><Conference>`` (the per-call bridge) and
``<Hangup/>``; ``<Pause>`` is cheap to honour. Anything else is refused with the verb named, the
way Twilio answers a document it cannot run (error 12100): the leg hangs up, nothing is guessed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

CONFERENCE_EVENTS_DEFAULT: frozenset[str] = frozenset()


class TwimlError(ValueError):
    """A document the SIP carrier cannot run (malformed, or a verb outside the subset)."""


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    language: str


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


@dataclass(frozen=True, slots=True)
class Conference:
    """``<Dial><Conference>``: join the named room; ``starts`` — the room is live once this leg is in."""

    name: str
    starts: bool
    ends_on_exit: bool
    status_callback: str | None
    events: frozenset[str]


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


Verb = Say | Pause | Conference | Hangup


def _flag(element: ET.Element, name: str, default: bool) -> bool:
    value = element.get(name)
    return default if value is None else value.strip().lower() == "true"


def parse(document: str) -> list[Verb]:
    """The verbs of a ``<Response>`` document, in order."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"not well-formed XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"the root element is <{root.tag}>, not <Response>")
    verbs: list[Verb] = []
    for index, element in enumerate(root, start=1):
        if element.tag == "Say":
            verbs.append(Say((element.text or "").strip(), element.get("language") or "en-US"))
        elif element.tag == "Pause":
            verbs.append(Pause(float(element.get("length") or 1)))
        elif element.tag in ("Hangup", "Reject"):
            verbs.append(Hangup())
        elif element.tag == "Dial":
            verbs.append(_dial(element, index))
        else:
            raise TwimlError(f"verb {index} <{element.tag}> is not supported by the SIP carrier")
    return verbs


def _dial(element: ET.Element, index: int) -> Conference:
    nouns = list(element)
    if len(nouns) != 1 or nouns[0].tag != "Conference":
        names = ", ".join(f"<{n.tag}>" for n in nouns) or "a number"
        raise TwimlError(f"verb {index} <Dial> with {names}: the SIP carrier dials only <Conference>")
    noun = nouns[0]
    name = (noun.text or "").strip()
    if not name:
        raise TwimlError(f"verb {index} <Dial><Conference> has no room name")
    events = frozenset((noun.get("statusCallbackEvent") or "").replace(",", " ").split())
    return Conference(
        name=name, starts=_flag(noun, "startConferenceOnEnter", True), ends_on_exit=_flag(noun, "endConferenceOnExit", False),
        status_callback=noun.get("statusCallback") or None, events=events or CONFERENCE_EVENTS_DEFAULT,
    )
