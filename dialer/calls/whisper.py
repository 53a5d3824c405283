"""What the agent hears (and sees) before being bridged: who is on the line, for which client,
the identity to state, and for a third party that no debt detail may be disclosed. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from dialer.policy.document import PolicyDocument

_ROLE = {"zh": {"debtor": "债务人", "third_party": "第三方"}, "en": {"debtor": "the debtor", "third_party": "a third party"}}
_RELATION = {
    "zh": {"self": "本人", "spouse": "配偶", "parent": "父母", "sibling": "兄弟姐妹", "child": "子女",
           "colleague": "同事", "friend": "朋友", "other": "其他联系人"},
    "en": {"self": "self", "spouse": "spouse", "parent": "parent", "sibling": "sibling", "child": "child",
           "colleague": "colleague", "friend": "friend", "other": "other contact"},
}


@dataclass(frozen=True, slots=True)
class Whisper:
    text: str
    language: str  # for <Say language=…>: cmn-CN or en-US


def render_whisper(
    policy: PolicyDocument, *, party_role: str, relation: str, party_name: str, client_name: str,
    company: str, client_template: str | None = None,
) -> Whisper:
    """The client's own template when it has one, else the policy's; placeholders are the
    policy document's ``WHISPER_PLACEHOLDERS`` (validated when the template was saved)."""
    lang = "zh" if policy.language.startswith("zh") else "en"
    identity = f"受{client_name}委托的{company}" if lang == "zh" else f"{company}, on behalf of {client_name}"
    values = {
        "party_role": _ROLE[lang].get(party_role, party_role), "relation": _RELATION[lang].get(relation, relation),
        "party_name": party_name, "client": client_name, "company": company, "agent_identity": identity,
    }
    text = (client_template or policy.whisper.template).format(**values)
    if party_role == "third_party":
        text += policy.whisper.third_party_reminder.format(**values)
    return Whisper(text=text, language="cmn-CN" if lang == "zh" else "en-US")
