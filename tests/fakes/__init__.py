"""Hand-written fakes of the ports in engine/ports.py, for tests that need no database."""

from .memory_store import MemoryStore, MemoryUnitOfWork
from .tables import Tables

__all__ = ["MemoryStore", "MemoryUnitOfWork", "Tables"]
