"""What each disposition does, one small function each.

A disposition function checks what it needs (the call was answered, the party is a third
party, the promise's reduction is authorised, the policy allows the callback...) and returns
the writes to make as an :data:`Apply`. The service runs every check before it writes
anything, so a refused note changes nothing; then it applies the writes in the same unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from dialer.audit import service as audit
from dialer.auth.deps import Principal
from dialer.calls.models import Call, CallOutcome
from dialer.cases.models import Case, Party, PartyRole, PhoneNumber
from dialer.clients.models import Client
from dialer.compliance import repository as compliance_repository
from dialer.compliance.decide import decide_number, decide_party
from dialer.compliance.localtime import local_instant, next_opening
from dialer.compliance.models import ClientReportItem, Consent, ConsentKind, StopContact, StopSource
from dialer.compliance.rules import check_waiver
from dialer.compliance.service import violation_body
from dialer.compliance.snapshot import CallbackFact
from dialer.compliance.stops import add_stop
from dialer.kit.errors import InvalidInput
from dialer.notes.models import Disposition, PromiseToPay, WrapUpNote
from dialer.notes.schemas import CONVERSATIONS, WrapUpIn
from dialer.policy.document import PolicyDocument
from dialer.tasks.models import Task, TaskKind

D = Disposition

CENT = Decimal("0.01")

CALLBACK_WINDOW = dt.timedelta(hours=1)
"""A callback's window when the party gave only a time."""

VERIFY_AFTER = dt.timedelta(days=1)
"""A claimed payment is checked the day after it was made (or after today, for one made today)."""

MESSAGE_FOLLOW_UP = dt.timedelta(days=1)
"""A message a third party agreed to pass on: the case is due for follow-up the next day (the
debtor has had the time to hear it), unless the agent chose another date."""

REFUSAL_FOLLOW_UP = dt.timedelta(days=3)
"""A refusal to pay: the case is due for follow-up three days later unless the agent chose a date."""


class UnauthorisedWaiver(InvalidInput):
    """``no_unauthorised_waiver``: a promise below what is owed without the client's authorisation."""

    code = "unauthorised_waiver"


class CallbackNotAllowed(InvalidInput):
    """The policy would refuse a call at the time the party asked to be called back."""

    code = "callback_not_allowed"


@dataclass(frozen=True, slots=True)
class Context:
    """The call being noted and everything a disposition may need about it."""

    session: AsyncSession
    actor: Principal
    now: dt.datetime
    call: Call
    case: Case
    client: Client
    party: Party | None
    number: PhoneNumber | None
    policy: PolicyDocument
    tz: ZoneInfo  # the debtor's zone: the case's dates (due dates, follow-ups) are read in it
    agent_id: int  # whose note it is

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()

    def opening_on(self, day: dt.date) -> dt.datetime | None:
        """The first instant of ``day`` (debtor's zone) at which the calling window is open."""
        return next_opening(self.policy, max(local_instant(day, dt.time(0), self.tz), self.now), self.tz)


@dataclass(slots=True)
class Effects:
    """What the disposition wrote, for the response."""

    promise: PromiseToPay | None = None
    callback: Consent | None = None
    tasks: list[Task] = field(default_factory=list)
    stop: StopContact | None = None
    report_item: ClientReportItem | None = None
    number_invalidated: int | None = None
    default_follow_up: dt.date | None = None  # the follow-up date the disposition implies, if the agent gave none
    follow_up_at: dt.datetime | None = None  # the exact instant of that follow-up, when known (a callback)


Apply = Callable[[WrapUpNote, Effects], Awaitable[None]]
Disposer = Callable[[Context, WrapUpIn], Awaitable[Apply]]


async def _nothing(_note: WrapUpNote, _effects: Effects) -> None:
    return None


# --- checks shared by several dispositions ---------------------------------------------------


def answered(call: Call) -> bool:
    """Someone picked up: the call was answered by a person (not a voicemail)."""
    if call.outcome is not None:
        return call.outcome is CallOutcome.ANSWERED
    return call.answered_at is not None


def require_conversation(ctx: Context, disposition: Disposition) -> None:
    if disposition in CONVERSATIONS and not answered(ctx.call):
        ended = (ctx.call.outcome or ctx.call.state).value
        raise InvalidInput(
            f"disposition: {disposition.value} means someone was spoken to, but call {ctx.call.id} ended {ended}",
            field="disposition", message_zh="此处理结果表示已与对方通话，但本次通话未接通",
        )


def require_third_party(ctx: Context, disposition: Disposition) -> Party:
    if ctx.party is None or ctx.party.role is not PartyRole.THIRD_PARTY:
        who = "no known party" if ctx.party is None else f"the {ctx.party.role.value}"
        raise InvalidInput(f"disposition: {disposition.value} is for a third party; call {ctx.call.id} reached {who}",
                           field="disposition", message_zh="此处理结果仅适用于第三方，本次通话对象不是第三方")
    return ctx.party


def _task(ctx: Context, *, kind: TaskKind, key: str, due_at: dt.datetime, reason: str,
          due_until: dt.datetime | None = None, party_id: int | None = None) -> Task:
    return Task(
        case_id=ctx.case.id, party_id=party_id, kind=kind, due_at=due_at, due_until=due_until, priority=50,
        dedupe_key=f"wrap_up:{ctx.call.id}:{key}", reason=reason, source_call_id=ctx.call.id,
        assigned_agent_id=ctx.case.assigned_agent_id or ctx.agent_id, created_at=ctx.now,
    )


# --- the dispositions -------------------------------------------------------------------------


async def promise_to_pay(ctx: Context, data: WrapUpIn) -> Apply:
    """A promise to pay ``amount`` by ``due_date``. Below what is owed (the instalment, else the
    case's total) it is a reduction, which needs the client's written authorisation reference.
    The reminders and the kept / broken verdict are the scheduler's (``scheduling.promises``)."""
    require_conversation(ctx, D.PROMISE_TO_PAY)
    promise = data.promise
    assert promise is not None  # the schema requires it
    total = ctx.case.total_owed
    owed = promise.owed_amount if promise.owed_amount is not None else total
    if owed > total:
        raise InvalidInput(f"promise.owed_amount: {owed} is more than the case's total owed ({total})",
                           field="promise.owed_amount", message_zh=f"应还金额 {owed} 超过案件欠款总额 {total}")
    if promise.amount > total:
        raise InvalidInput(f"promise.amount: {promise.amount} is more than the case's total owed ({total})",
                           field="promise.amount", message_zh=f"承诺金额 {promise.amount} 超过案件欠款总额 {total}")
    if promise.due_date < ctx.today:
        raise InvalidInput(f"promise.due_date: {promise.due_date} is in the past (today is {ctx.today})",
                           field="promise.due_date", message_zh=f"承诺还款日期 {promise.due_date} 早于今天（{ctx.today}）")
    reduction = max(owed - promise.amount, Decimal("0")).quantize(CENT)
    violation = check_waiver(reduction=reduction, authorisation_ref=promise.authorisation_ref,
                             enforced=ctx.policy.rules.no_unauthorised_waiver)
    if violation is not None:
        raise UnauthorisedWaiver(
            f"promise.authorisation_ref: {promise.amount} is {reduction} below the {owed} owed; "
            f"{violation.message_en}",
            field="promise.authorisation_ref", rule=violation.rule, message_zh=violation.message_zh,
            owed=str(owed.quantize(CENT)), reduction=str(reduction),
        )

    async def apply(note: WrapUpNote, effects: Effects) -> None:
        effects.promise = PromiseToPay(
            case_id=ctx.case.id, call_id=ctx.call.id, note_id=note.id, party_id=note.party_id,
            amount=promise.amount, reduction=reduction, authorisation_ref=promise.authorisation_ref,
            due_date=promise.due_date, created_by_id=ctx.agent_id, created_at=ctx.now,
        )
        ctx.session.add(effects.promise)
        await ctx.session.flush()
        await audit.record(ctx.session, action="promise.create", actor=ctx.actor, entity="promise",
                           entity_id=effects.promise.id, call_id=ctx.call.id, amount=str(promise.amount),
                           due_date=promise.due_date.isoformat(), reduction=str(reduction),
                           authorisation_ref=promise.authorisation_ref)
    return apply


async def paid(ctx: Context, data: WrapUpIn) -> Apply:
    """The party says they paid. Nothing is booked (payments come from the client's import);
    a follow-up task checks the claim the day after, and is the note's default follow-up."""
    require_conversation(ctx, D.PAID)
    claim = data.payment
    assert claim is not None
    if claim.paid_on > ctx.today:
        raise InvalidInput(f"payment.paid_on: {claim.paid_on} is in the future; a payment still to come is a "
                           "promise_to_pay", field="payment.paid_on",
                           message_zh=f"还款日期 {claim.paid_on} 晚于今天；尚未发生的还款请记为“承诺还款”")
    check_on = max(claim.paid_on, ctx.today) + VERIFY_AFTER
    due_at = ctx.opening_on(check_on) or local_instant(check_on, dt.time(0), ctx.tz)
    said = f"{claim.amount.quantize(CENT)} {ctx.case.currency} paid on {claim.paid_on.isoformat()}"
    said += "".join(f", {label} {value}" for label, value in (("via", claim.channel), ("ref", claim.reference)) if value)

    async def apply(note: WrapUpNote, effects: Effects) -> None:
        task = _task(ctx, kind=TaskKind.FOLLOW_UP, key="verify_payment", due_at=due_at,
                     reason=f"verify the claimed payment: {said}", party_id=note.party_id)
        ctx.session.add(task)
        effects.tasks.append(task)
        effects.default_follow_up = check_on
        await audit.record(ctx.session, action="payment.claimed", actor=ctx.actor, entity="call", entity_id=ctx.call.id,
                           amount=str(claim.amount), paid_on=claim.paid_on.isoformat(), channel=claim.channel,
                           reference=claim.reference)
    return apply


async def refused(ctx: Context, data: WrapUpIn) -> Apply:
    """The party refused to pay: the note (with its result) is the record, and the case is due
    for follow-up again in a few days (:data:`REFUSAL_FOLLOW_UP`) unless the note says when."""
    require_conversation(ctx, D.REFUSED)
    return _follow_up_after(ctx, REFUSAL_FOLLOW_UP)


async def no_contact(ctx: Context, data: WrapUpIn) -> Apply:
    """Nobody useful was reached: the note is the record."""
    return _nothing


async def wrong_number(ctx: Context, data: WrapUpIn) -> Apply:
    """The number does not reach the party: it is marked invalid, with the reason and the time,
    and the policy's ``invalid_number`` rule stops it being dialled again."""
    number = ctx.number
    if number is None:
        raise InvalidInput(f"disposition: call {ctx.call.id} has no number on record to mark wrong", field="disposition",
                           message_zh="本次通话没有可标记为错号的号码")
    reason = (data.reason or "")[:200]

    async def apply(note: WrapUpNote, effects: Effects) -> None:
        number.valid, number.invalid_reason, number.invalid_marked_at = False, reason, ctx.now
        effects.number_invalidated = number.id
        await audit.record(ctx.session, action="number.invalid", actor=ctx.actor, entity="phone_number",
                           entity_id=number.id, call_id=ctx.call.id, reason=reason)
    return apply


async def third_party_message(ctx: Context, data: WrapUpIn) -> Apply:
    """A third party agreed to pass a message on: the note is the record, and the case is due for
    follow-up the next day (:data:`MESSAGE_FOLLOW_UP`) unless the note says when."""
    require_conversation(ctx, D.THIRD_PARTY_MESSAGE)
    require_third_party(ctx, D.THIRD_PARTY_MESSAGE)
    return _follow_up_after(ctx, MESSAGE_FOLLOW_UP)


def _follow_up_after(ctx: Context, after: dt.timedelta) -> Apply:
    """The note's default follow-up date: ``after`` from today (the case's opening hour that day)."""
    async def apply(_note: WrapUpNote, effects: Effects) -> None:
        effects.default_follow_up = ctx.today + after
    return apply


def _stop(ctx: Context, party: Party, source: StopSource, reason: str) -> Apply:
    async def apply(note: WrapUpNote, effects: Effects) -> None:
        effects.stop, effects.report_item = await add_stop(
            ctx.session, party_id=party.id, source=source.value, reason=reason, number_id=None, actor=ctx.actor,
            call_id=ctx.call.id,
        )
    return apply


async def third_party_stop(ctx: Context, data: WrapUpIn) -> Apply:
    """A third party asked not to be called: a stop-contact entry for them and an item for the
    supervisor to report back to the client."""
    require_conversation(ctx, D.THIRD_PARTY_STOP)
    party = require_third_party(ctx, D.THIRD_PARTY_STOP)
    return _stop(ctx, party, StopSource.PARTY_REQUEST, data.reason or "")


async def hostile(ctx: Context, data: WrapUpIn) -> Apply:
    """Strong displeasure. A hostile third party is never called again (stop-contact and a
    report to the client); a hostile debtor is recorded in the note and the audit log only."""
    require_conversation(ctx, D.HOSTILE)
    if ctx.party is not None and ctx.party.role is PartyRole.THIRD_PARTY:
        return _stop(ctx, ctx.party, StopSource.HOSTILE, data.reason or "")

    async def apply(note: WrapUpNote, effects: Effects) -> None:
        await audit.record(ctx.session, action="party.hostile", actor=ctx.actor, entity="call", entity_id=ctx.call.id,
                           party_id=note.party_id, reason=data.reason)
    return apply


async def callback_requested(ctx: Context, data: WrapUpIn) -> Apply:
    """The party asked to be called back at a time: a callback consent with its window and a
    callback task. The policy must allow a call at that time (every rule, evaluated for that
    instant on what is known now), else the agent is told when the earliest allowed time is."""
    require_conversation(ctx, D.CALLBACK_REQUESTED)
    callback = data.callback
    assert callback is not None
    party = ctx.party
    if party is None:
        raise InvalidInput(f"disposition: call {ctx.call.id} has no party to call back", field="disposition",
                           message_zh="本次通话没有可回电的联系人")
    at = callback.at
    until = callback.until or at + CALLBACK_WINDOW
    if at <= ctx.now:
        raise InvalidInput(f"callback.at: {at.isoformat()} is not in the future", field="callback.at",
                           message_zh="回电时间必须是将来的时间")
    number_id = callback.number_id if callback.number_id is not None else ctx.call.number_id
    snapshot = await compliance_repository.build_snapshot(
        ctx.session, party=party, case=ctx.case, client=ctx.client, at=at,
    )
    # Judged with the consent this note gives: under Reg F the call the party asks for now is theirs.
    asked = CallbackFact(starts=at, ends=until, number_id=number_id, given_at=ctx.now)
    snapshot = replace(snapshot, callbacks=(*snapshot.callbacks, asked))
    if number_id is not None:
        if all(n.id != number_id for n in snapshot.numbers):
            raise InvalidInput(f"callback.number_id: {number_id} is not a number of party {party.id}",
                               field="callback.number_id", message_zh="所选回电号码不属于该联系人")
        decision = decide_number(snapshot, snapshot.number(number_id), at)
    else:
        decision = decide_party(snapshot, at)
    if not decision.allowed:
        violations = [violation_body(v, ctx.policy.language) for v in decision.violations]
        rules = ", ".join(v["rule"] for v in violations)
        suggestion = (f"; the earliest allowed time is {decision.next_allowed_at.astimezone(ctx.tz).isoformat()}"
                      if decision.next_allowed_at else "")
        raise CallbackNotAllowed(
            f"callback.at: the policy would refuse a call at {at.isoformat()} ({rules}){suggestion}",
            field="callback.at", violations=violations, next_allowed_at=decision.next_allowed_at,
        )
    chosen = decision.number_id

    async def apply(note: WrapUpNote, effects: Effects) -> None:
        effects.callback = Consent(
            party_id=party.id, number_id=chosen, kind=ConsentKind.CALLBACK, callback_at=at, valid_from=at,
            valid_until=until, source_call_id=ctx.call.id, note=data.result or data.special_notes, created_at=ctx.now,
        )
        ctx.session.add(effects.callback)
        task = _task(ctx, kind=TaskKind.CALLBACK, key="callback", due_at=at, due_until=until, party_id=party.id,
                     reason=f"{party.name} asked to be called back between {at.astimezone(ctx.tz):%Y-%m-%d %H:%M} "
                            f"and {until.astimezone(ctx.tz):%H:%M}")
        ctx.session.add(task)
        effects.tasks.append(task)
        effects.default_follow_up, effects.follow_up_at = at.astimezone(ctx.tz).date(), at
    return apply


DISPOSITIONS: dict[Disposition, Disposer] = {
    D.PROMISE_TO_PAY: promise_to_pay,
    D.PAID: paid,
    D.REFUSED: refused,
    D.WRONG_NUMBER: wrong_number,
    D.NO_CONTACT: no_contact,
    D.THIRD_PARTY_MESSAGE: third_party_message,
    D.THIRD_PARTY_STOP: third_party_stop,
    D.HOSTILE: hostile,
    D.CALLBACK_REQUESTED: callback_requested,
}
"""Every disposition's effect (``tests/notes`` checks that none is missing)."""
