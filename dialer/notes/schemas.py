"""The wrap-up form (work-instruction 5.2.2) and what the notes endpoints return.

Which fields a disposition needs is checked here, field by field, so a 422 names the field
and says why (``promise: required when the disposition is promise_to_pay``). Rules that need
the database (the case's balance, the party's role, the policy) are the service's.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from dialer.agents.models import AgentState, NotReadyReason
from dialer.calls.models import CallOutcome, CallState, Direction, RecordingStatus
from dialer.kit.bounds import Day, Instant, RowId
from dialer.kit.schemas import Schema
from dialer.notes.models import Disposition, PromiseStatus

D = Disposition

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]


class ContactStatus(enum.StrEnum):
    """Who or what the agent reached (联系状态)."""

    DEBTOR_REACHED = "debtor_reached"  # 本人接听
    THIRD_PARTY_REACHED = "third_party_reached"  # 第三方接听
    NO_ANSWER = "no_answer"  # 无人接听
    BUSY = "busy"  # 占线
    REJECTED = "rejected"  # 拒接 / 挂断
    SWITCHED_OFF = "switched_off"  # 关机
    SUSPENDED = "suspended"  # 停机
    NOT_IN_SERVICE = "not_in_service"  # 空号
    WRONG_PERSON = "wrong_person"  # 非本人 / 号码易主
    VOICEMAIL = "voicemail"  # 语音信箱
    OTHER = "other"


class RecoveryLikelihood(enum.StrEnum):
    """The agent's view of the chance of recovery (回款可能性)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"
    UNKNOWN = "unknown"


CONVERSATIONS = frozenset({
    D.PROMISE_TO_PAY, D.PAID, D.REFUSED, D.THIRD_PARTY_MESSAGE, D.THIRD_PARTY_STOP, D.HOSTILE, D.CALLBACK_REQUESTED,
})
"""Dispositions that say someone was spoken to: they need an answered call."""

REQUIRED: dict[Disposition, frozenset[str]] = {
    D.PROMISE_TO_PAY: frozenset({"contact_name", "promise"}),
    D.PAID: frozenset({"contact_name", "payment"}),
    D.REFUSED: frozenset({"contact_name", "result"}),
    D.WRONG_NUMBER: frozenset({"reason"}),
    D.NO_CONTACT: frozenset(),
    D.THIRD_PARTY_MESSAGE: frozenset({"contact_name"}),
    D.THIRD_PARTY_STOP: frozenset({"contact_name", "reason"}),
    D.HOSTILE: frozenset({"reason"}),
    D.CALLBACK_REQUESTED: frozenset({"contact_name", "callback"}),
}
"""The fields each disposition needs besides the always-required ``contact_status``."""

ONLY_WITH: dict[str, Disposition] = {"promise": D.PROMISE_TO_PAY, "payment": D.PAID, "callback": D.CALLBACK_REQUESTED}


class PromiseIn(Schema):
    amount: Amount = Field(description="What the party promised to pay")
    due_date: Day = Field(description="The day they promised to pay by (the debtor's local date)")
    owed_amount: Amount | None = Field(
        None, description="The instalment or balance this promise is meant to clear; default the case's total owed. "
                          "A promise below it is a reduction and needs the client's authorisation reference",
    )
    authorisation_ref: Short | None = Field(None, description="The client's written authorisation of the reduction")


class PaymentClaimIn(Schema):
    """What the party said they paid. Recorded for verification; the payment itself comes from
    the client's payment import."""

    amount: Amount
    paid_on: Day = Field(description="The day they say they paid (their local date)")
    channel: Short | None = Field(None, description="How they say they paid (bank transfer, app...)")
    reference: Short | None = Field(None, description="A transfer or receipt reference they gave")


class CallbackIn(Schema):
    at: Instant = Field(description="When the party asked to be called back (ISO 8601 with offset)")
    until: Instant | None = Field(None, description="End of the window they gave; default one hour after `at`")
    number_id: RowId | None = Field(None, description="Another number of the same party to call back on; default the call's")

    @field_validator("until")
    @classmethod
    def _after_start(cls, value: dt.datetime | None, info: ValidationInfo) -> dt.datetime | None:
        start = info.data.get("at")
        if value is not None and start is not None:
            if value <= start:
                raise PydanticCustomError("window_order", "must be after `at`")
            if value - start > dt.timedelta(hours=12):
                raise PydanticCustomError("window_too_long", "a callback window is at most 12 hours long")
        return value


class WrapUpIn(Schema):
    """The wrap-up note of work-instruction 5.2.2 and the disposition of the call."""

    disposition: Disposition
    contact_status: ContactStatus = Field(description="Who or what was reached (联系状态)")
    contact_name: Short | None = Field(None, validate_default=True, description="Who the agent spoke to (联系人)")
    contact_number: str | None = Field(
        None, min_length=3, max_length=32, description="The number reached (E.164 or national form); default the call's",
    )
    arrears_reason: Text | None = Field(None, description="Reason for the arrears (逾期原因)")
    result: Text | None = Field(None, validate_default=True, description="What came of the call (催收结果)")
    assessment: Text | None = Field(None, description="The agent's assessment (综合评估)")
    equipment_status: Text | None = Field(
        None, description="Equipment / operations status (设备及经营状况); required when a lease case's debtor was reached",
    )
    recovery_likelihood: RecoveryLikelihood | None = None
    next_action: Text | None = Field(None, description="Suggested next action (下一步建议)")
    next_follow_up_date: Day | None = Field(None, description="Next follow-up date (下次跟进日期), the debtor's local date")
    special_notes: Text | None = Field(None, description="Special notes (特别事项)")
    reason: Text | None = Field(
        None, validate_default=True,
        description="Why: what made the number wrong, or what the party said when asking not to be called / hostile",
    )
    promise: PromiseIn | None = Field(None, validate_default=True)
    payment: PaymentClaimIn | None = Field(None, validate_default=True)
    callback: CallbackIn | None = Field(None, validate_default=True)
    next_state: Literal["ready", "not_ready"] = Field("ready", description="The agent's state once the note is saved")
    not_ready_reason: NotReadyReason | None = Field(
        None, validate_default=True, description="Required with next_state not_ready: " + ", ".join(NotReadyReason))

    @field_validator("contact_name", "result", "reason", "promise", "payment", "callback")
    @classmethod
    def _fits_disposition(cls, value: Any, info: ValidationInfo) -> Any:
        disposition = info.data.get("disposition")
        if disposition is None:  # the disposition itself is invalid: that error suffices
            return value
        name = info.field_name or ""
        if value is None and name in REQUIRED[disposition]:
            raise PydanticCustomError("required_for_disposition", "required when the disposition is {disposition}",
                                      {"disposition": disposition.value})
        expected = ONLY_WITH.get(name)
        if value is not None and expected is not None and expected is not disposition:
            raise PydanticCustomError("not_for_disposition", "only given with disposition {expected}, not {disposition}",
                                      {"expected": expected.value, "disposition": disposition.value})
        return value

    @field_validator("not_ready_reason")
    @classmethod
    def _reason_when_not_ready(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("next_state") == "not_ready":
            raise PydanticCustomError("required_for_not_ready", "required when next_state is not_ready")
        return value


# --- out ------------------------------------------------------------------------------------


class RecordingRef(Schema):
    id: int
    status: RecordingStatus
    sha256: str | None
    duration_s: int | None
    channels: int | None
    stored_at: dt.datetime | None
    archived_at: dt.datetime | None
    legal_hold: bool


class CallRef(Schema):
    id: int
    direction: Direction
    state: CallState
    outcome: CallOutcome | None
    party_id: int | None
    number_id: int | None
    agent_id: int | None
    from_e164: str | None
    to_e164: str | None
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    talk_s: int | None
    recording_missing: bool


class PromiseOut(Schema):
    id: int
    amount: Decimal
    reduction: Decimal
    authorisation_ref: str | None
    due_date: dt.date
    status: PromiseStatus
    paid_amount: Decimal


class ConsentOut(Schema):
    id: int
    party_id: int
    number_id: int | None
    callback_at: dt.datetime | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None


class TaskRef(Schema):
    id: int
    kind: str
    status: str
    due_at: dt.datetime
    due_until: dt.datetime | None
    reason: str | None


class NoteOut(Schema):
    id: int
    call_id: int
    case_id: int
    party_id: int | None
    agent_id: int
    disposition: Disposition
    contact_name: str | None
    contact_number: str | None
    contact_status: str | None
    arrears_reason: str | None
    result: str | None
    assessment: str | None
    equipment_status: str | None
    recovery_likelihood: str | None
    next_action: str | None
    next_follow_up_date: dt.date | None
    special_notes: str | None
    created_at: dt.datetime
    call: CallRef
    recording: RecordingRef | None = Field(description="The call's recording (the stored one first), when there is one")
    promise: PromiseOut | None = None
    callback: ConsentOut | None = None
    tasks: list[TaskRef] = Field(default_factory=list, description="Follow-ups the note created (callback, payment check)")


class WrapUpOut(NoteOut):
    agent_state: AgentState | None = Field(description="The agent's state after the note, if their wrap-up ended")
    stop_contact_id: int | None = None
    report_item_id: int | None = None
    number_invalidated: int | None = Field(None, description="The number marked invalid (wrong_number)")


class NotesPage(Schema):
    items: list[NoteOut]
    next_before: int | None = Field(description="Pass as `before` for older notes; null on the last page")


# --- the rules, for the desktop -------------------------------------------------------------


class WrapUpRulesOut(Schema):
    """The rules above as the desktop checks them before sending a note (the service checks them again)."""

    required: dict[Disposition, list[str]] = Field(
        description="The fields each disposition needs besides contact_status; every disposition is listed")
    conversations: list[Disposition] = Field(description="The dispositions that need an answered call")
    nested_required: dict[str, list[str]] = Field(
        description="The fields a promise, payment or callback needs, named as a 422 names them (promise.amount)")


def _sub_model(name: str) -> type[BaseModel]:
    """The model of the wrap-up's sub-object ``name``: PromiseIn for ``promise``."""
    return next(arg for arg in get_args(WrapUpIn.model_fields[name].annotation) if issubclass(arg, BaseModel))


def wrap_up_rules() -> WrapUpRulesOut:
    """REQUIRED, CONVERSATIONS and the sub-objects' required fields, sorted for a stable answer."""
    nested = {name: sorted(f"{name}.{field}" for field, info in _sub_model(name).model_fields.items()
                           if info.is_required())
              for name in sorted(ONLY_WITH)}
    return WrapUpRulesOut(required={d: sorted(REQUIRED[d]) for d in sorted(Disposition)},
                          conversations=sorted(CONVERSATIONS), nested_required=nested)
