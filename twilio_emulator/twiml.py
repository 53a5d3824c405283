"""A small TwiML reader: the document as a list of verbs, each with attributes, text and nouns."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

SUPPORTED_VERBS = frozenset({"Say", "Play", "Pause", "Dial", "Record", "Hangup", "Reject", "Redirect", "Gather"})
TRUE = frozenset({"true", "1", "yes"})


class TwimlError(ValueError):
    """The document is not TwiML (Twilio's error 12100, "Document parse failure")."""


@dataclass(frozen=True)
class Verb:
    name: str
    attrs: dict[str, str] = field(default_factory=dict)
    text: str = ""
    children: tuple[Verb, ...] = ()

    def attr(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.attrs.get(name)
        return default if value is None else value.strip().lower() in TRUE

    def number(self, name: str, default: float) -> float:
        try:
            return float(self.attrs[name])
        except (KeyError, ValueError):
            return default

    def events(self, name: str = "statusCallbackEvent") -> frozenset[str]:
        """A space-separated event list attribute (``statusCallbackEvent="start end join"``)."""
        return frozenset((self.attrs.get(name) or "").split())


def _verb(element: ET.Element) -> Verb:
    return Verb(
        name=element.tag,
        attrs=dict(element.attrib),
        text=(element.text or "").strip(),
        children=tuple(_verb(child) for child in element),
    )


def parse_twiml(document: str | bytes) -> list[Verb]:
    """The verbs of a ``<Response>`` document, in order. Raises TwimlError on anything else."""
    try:
        root = ET.fromstring(document)
    except ET.ParseError as exc:
        raise TwimlError(f"invalid XML: {exc}") from exc
    if root.tag != "Response":
        raise TwimlError(f"root element is <{root.tag}>, not <Response>")
    return [_verb(child) for child in root]


def dial_nouns(dial: Verb) -> list[Verb]:
    """The nouns of a ``<Dial>``; bare text is a ``<Number>``."""
    nouns = [child for child in dial.children if child.name in {"Number", "Client", "Conference", "Sip", "Queue"}]
    if not nouns and dial.text:
        nouns = [Verb("Number", {}, dial.text)]
    return nouns


def client_identity(noun: Verb) -> str:
    """``<Client>alice</Client>`` or ``<Client><Identity>alice</Identity></Client>``."""
    for child in noun.children:
        if child.name == "Identity":
            return child.text
    return noun.text
