"""Directory records the store persists; they are domain objects of `engine.domain.model`.

Kept as a module so that adapters and tools importing from here keep working.
"""

from engine.domain.model import (
    SUBSCRIBER_CONFIRMED,
    SUBSCRIBER_PENDING,
    SUBSCRIBER_UNSUBSCRIBED,
    Person,
    Subscriber,
)

__all__ = [
    "SUBSCRIBER_CONFIRMED",
    "SUBSCRIBER_PENDING",
    "SUBSCRIBER_UNSUBSCRIBED",
    "Person",
    "Subscriber",
]
