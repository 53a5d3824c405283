"""Imports every model so ``Base.metadata`` is complete (Alembic and tests use this)."""

from dialer.agents.models import AgentSession
from dialer.audit.chain_models import AuditChainEntry, ChainOrigin, DecisionChainEntry
from dialer.audit.models import AuditEntry
from dialer.auth.models import ApiKey, User
from dialer.calendars.models import CalendarState, CalendarYear
from dialer.calls.models import Call, Recording, Supervision
from dialer.campaigns.models import Campaign
from dialer.cases.models import Case, Party, PhoneNumber
from dialer.clients.models import Client, PolicyVersion
from dialer.compliance.models import Attempt, ClientReportItem, Consent, Decision, StopContact
from dialer.imports.models import ImportBatch
from dialer.kit.db import Base
from dialer.live.models import LiveEvent
from dialer.notes.models import Payment, PromiseToPay, WrapUpNote
from dialer.outbox.models import Delivery, DeliveryAttempt, WebhookEndpoint, WebhookEvent
from dialer.seats.models import Seat
from dialer.tasks.models import Task
from dialer.worklist.models import CaseSkip
from recordings.models import LegalHold
from webhooks.models import CarrierEvent

__all__ = [
    "AgentSession", "ApiKey", "Attempt", "AuditChainEntry", "AuditEntry", "Base", "CalendarState", "CalendarYear",
    "Call", "Campaign", "CarrierEvent",
    "ChainOrigin", "DecisionChainEntry",
    "Case", "CaseSkip", "Client", "ClientReportItem", "Consent", "Decision", "ImportBatch", "LegalHold", "LiveEvent",
    "Party", "Payment", "PhoneNumber", "PolicyVersion", "PromiseToPay", "Recording", "Seat",
    "StopContact", "Supervision", "Task", "User", "WebhookEndpoint", "WebhookEvent", "WrapUpNote", "Delivery", "DeliveryAttempt",
]
