"""The persistence adapter: tables, the unit of work, Alembic migrations, the audit chains.

The database owns state and time (DESIGN.md §2). Typical use::

    db = Database.for_data_dir(settings.data_dir)   # or Database(url, audit_key=key)
    db.migrate()                                    # cheap when the schema is at head
    with db.unit_of_work() as uow:
        incident = uow.incidents.get(incident_id)
        ...
        uow.incidents.update(incident)              # Conflict if someone else changed it
        uow.events.append(incident, actor=..., kind=..., at=clock.now())
        uow.commit()
"""

from engine.store.audit import Anchor, AuditFinding, AuditReport, audit_key, key_source, verify
from engine.store.chain import ChainHead
from engine.store.database import Database, SchemaStatus
from engine.store.hashing import canonical_json
from engine.store.unit_of_work import UnitOfWork

__all__ = [
    "Anchor",
    "AuditFinding",
    "AuditReport",
    "ChainHead",
    "Database",
    "SchemaStatus",
    "UnitOfWork",
    "audit_key",
    "canonical_json",
    "key_source",
    "verify",
]
