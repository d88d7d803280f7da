"""Unsubscribe tokens apart from confirmation tokens: the 0005 migration and the links they open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from engine.bootstrap import App
from engine.errors import NotFound
from engine.store import Database
from engine.store.database import MIGRATIONS
from tests.app_helpers import START, make_app

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
KEY = bytes(range(32))


@pytest.fixture
def at_0004(database_url: str) -> Iterator[Database]:
    """A database at revision 0004, as an installation before unsubscribe tokens."""
    database = Database(database_url, audit_key=KEY)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0004")
    try:
        yield database
    finally:
        database.dispose()


def test_the_migration_gives_every_existing_subscriber_a_fresh_unique_token(
    at_0004: Database,
) -> None:
    """Upgraded from 0004, each subscriber has its own new unsubscribe token, unlike its old one."""
    with at_0004.engine.begin() as conn:
        for n in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO subscribers (id, audience, email, name, status, token, "
                    "created_at) VALUES (:id, 'subscribers', :email, '', 'confirmed', :tok, :at)"
                ),
                {"id": f"S{n}", "email": f"s{n}@example.se", "tok": f"old-token-{n}", "at": T0},
            )
    assert at_0004.migrate() is True
    with at_0004.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT token, unsubscribe_token FROM subscribers ORDER BY id")
        ).all()
    tokens = [leave for _, leave in rows]
    assert [confirm for confirm, _ in rows] == ["old-token-0", "old-token-1", "old-token-2"]
    assert len(set(tokens)) == 3 and all(len(token) == 32 for token in tokens)
    assert not {confirm for confirm, _ in rows} & set(tokens)


def test_the_unsubscribe_token_is_unique_in_the_schema(db: Database) -> None:
    """Two subscribers can never share an unsubscribe token (the column's unique index)."""
    insert = sa.text(
        "INSERT INTO subscribers (id, audience, email, name, status, token, created_at, "
        "unsubscribe_token) VALUES (:id, 'subscribers', :email, '', 'pending', :tok, :at, 'same')"
    )
    with db.engine.begin() as conn:
        conn.execute(insert, {"id": "A", "email": "a@example.se", "tok": "ta", "at": T0})
    with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
        conn.execute(insert, {"id": "B", "email": "b@example.se", "tok": "tb", "at": T0})


def test_the_lookup_by_either_token_uses_an_index(db: Database) -> None:
    """Both token columns have a unique index, so following a link never reads every row."""
    indexed: set[str] = set()
    inspector = sa.inspect(db.engine)
    for constraint in inspector.get_unique_constraints("subscribers"):
        indexed |= {c for c in constraint["column_names"] if len(constraint["column_names"]) == 1}
    assert {"token", "unsubscribe_token"} <= indexed


@pytest.fixture
def application(tmp_path: Path) -> Iterator[App]:
    application = make_app(tmp_path, public_url="https://gits.example.se/")
    yield application
    application.database.dispose()


def test_a_confirmation_token_never_unsubscribes(application: App) -> None:
    """The confirmation link's token is refused by unsubscribe; the subscription stays."""
    subscriptions = application.service.subscriptions
    stored = subscriptions.subscribe(audience="subscribers", email="anna@example.se", now=START)
    subscriptions.confirm(stored.token, START + timedelta(minutes=1))
    with pytest.raises(NotFound, match="unknown token"):
        subscriptions.unsubscribe(stored.token)
    [listed] = subscriptions.list()
    assert listed.status == "confirmed"
    assert listed.unsubscribe_token and listed.unsubscribe_token != listed.token
    assert subscriptions.unsubscribe(listed.unsubscribe_token).status == "unsubscribed"


def test_an_unsubscribe_token_never_confirms(application: App) -> None:
    """The token in a newsletter's unsubscribe link cannot confirm a pending subscription."""
    subscriptions = application.service.subscriptions
    stored = subscriptions.subscribe(audience="subscribers", email="bo@example.se", now=START)
    with pytest.raises(NotFound, match="unknown token"):
        subscriptions.confirm(stored.unsubscribe_token, START)
    assert subscriptions.list()[0].status == "pending"


def test_subscribing_again_after_leaving_issues_new_tokens(application: App) -> None:
    """A new subscription after unsubscribing gets new tokens: old links stay ended."""
    subscriptions = application.service.subscriptions
    first = subscriptions.subscribe(audience="subscribers", email="eva@example.se", now=START)
    subscriptions.confirm(first.token, START)
    subscriptions.unsubscribe(first.unsubscribe_token)
    again = subscriptions.subscribe(audience="subscribers", email="eva@example.se", now=START)
    assert again.unsubscribe_token != first.unsubscribe_token
    assert again.token != first.token
    with pytest.raises(NotFound):
        subscriptions.unsubscribe(first.unsubscribe_token)
