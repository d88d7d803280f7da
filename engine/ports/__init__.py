"""The ports: what the service layer needs from the outside world, as Protocols.

Adapters implement these: the SQL store (`store`: `Store`, `UnitOfWork` and its repositories),
the channels under `channels/` (`channels`: `Channel`, `ChannelFactory`, `ChannelKinds`), the
clocks (`clock`) and the alarm clock's view of the timers (`timers`). The service layer is typed
against these Protocols only, never against an adapter's class, and mypy checks structurally
that each adapter fits. Tests use hand-written fakes. Nothing here does I/O.
"""

from engine.ports.accounts import AccountRepository
from engine.ports.channels import (
    Channel,
    ChannelFactory,
    ChannelKinds,
    ChannelStatus,
    CopyGate,
    DeliveryReport,
    Meeting,
    OutgoingMessage,
    Recipient,
    RecipientResult,
)
from engine.ports.clock import Clock, SystemClock
from engine.ports.store import (
    ApprovalRepository,
    DefinitionRepository,
    DirectoryRepository,
    EventRepository,
    IncidentRepository,
    JournalWriter,
    MessageRepository,
    MetaRepository,
    Store,
    SubscriberRepository,
    TimerRepository,
    UnitOfWork,
)
from engine.ports.timers import FireResult, TimerFiring

__all__ = [
    "AccountRepository",
    "ApprovalRepository",
    "Channel",
    "ChannelFactory",
    "ChannelKinds",
    "ChannelStatus",
    "Clock",
    "CopyGate",
    "DefinitionRepository",
    "DeliveryReport",
    "DirectoryRepository",
    "EventRepository",
    "FireResult",
    "IncidentRepository",
    "JournalWriter",
    "Meeting",
    "MessageRepository",
    "MetaRepository",
    "OutgoingMessage",
    "Recipient",
    "RecipientResult",
    "Store",
    "SubscriberRepository",
    "SystemClock",
    "TimerFiring",
    "TimerRepository",
    "UnitOfWork",
]
