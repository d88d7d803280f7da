"""Newsletter subscribers: double opt-in, tokens, unsubscribe, the CLI, and who gets which mail."""

from __future__ import annotations

import email
import email.policy
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.bootstrap import App, build
from engine.cli.app import app as cli
from engine.domain.tokens import new_link_token, token_from_link
from engine.errors import CommandError, NotFound
from engine.service.subscriptions import confirm_url
from engine.settings import Settings
from tests.app_helpers import (
    DECLARE,
    OPERATOR,
    START,
    WORKFLOWS,
    make_app,
    make_dispatcher,
)
from tests.channel_helpers import SmtpServer

LATER = START + timedelta(minutes=5)


@pytest.fixture
def application(tmp_path: Path) -> Iterator[App]:
    application = make_app(tmp_path, public_url="https://gits.example.se/")
    yield application
    application.database.dispose()


def _subscribe(application: App, email: str, audience: str = "subscribers") -> str:
    stored = application.service.subscriptions.subscribe(
        audience=audience, email=email, name="", now=START
    )
    return stored.token


def _leave_token(application: App, email: str) -> str:
    """The unsubscribe token of `email` (the one in its newsletters' links)."""
    [found] = [s for s in application.service.subscriptions.list() if s.email == email]
    return found.unsubscribe_token


def test_subscribing_starts_pending_with_a_random_token(application: App) -> None:
    """A new subscription is pending, lower-cased, with a 32-character URL-safe token."""
    stored = application.service.subscriptions.subscribe(
        audience="subscribers", email=" Anna@Example.SE ", name="Anna", now=START
    )
    other = application.service.subscriptions.subscribe(
        audience="subscribers", email="bo@example.se", name="Bo", now=START
    )
    assert (stored.email, stored.status, stored.name) == ("anna@example.se", "pending", "Anna")
    assert len(stored.token) == 32 and stored.token != other.token
    assert stored.token.replace("-", "").replace("_", "").isalnum()
    [listed, _] = application.service.subscriptions.list(audience="subscribers")
    assert (listed.email, listed.status, listed.token) == (
        "anna@example.se",
        "pending",
        stored.token,
    )


def test_only_audiences_with_subscribers_accept_subscriptions(application: App) -> None:
    """An audience without `subscribers: true` is refused, naming the audiences that take them."""
    assert application.service.subscriptions.audiences() == ["subscribers"]
    with pytest.raises(
        CommandError, match=r"'support_it'.*Audiences with subscribers: subscribers"
    ):
        _subscribe(application, "x@example.se", audience="support_it")
    assert application.service.subscriptions.list() == []


@pytest.mark.parametrize("bad", ["no-at-sign", "a@b", "a b@example.se", "x@example.se\r\nBcc: y"])
def test_an_unusable_address_is_refused(application: App, bad: str) -> None:
    """An address we could not send to is refused before anything is stored."""
    with pytest.raises(CommandError, match="not an e-mail address"):
        _subscribe(application, bad)
    assert application.service.subscriptions.list() == []


def test_resubscribing_a_pending_address_replaces_its_token(application: App) -> None:
    """Subscribing a pending address again issues a new link; the old one stops working."""
    old = _subscribe(application, "anna@example.se")
    new = _subscribe(application, "ANNA@example.se")
    assert new != old
    with pytest.raises(NotFound, match="not valid"):
        application.service.subscriptions.confirm(old, LATER)
    assert application.service.subscriptions.confirm(new, LATER).status == "confirmed"
    assert len(application.service.subscriptions.list()) == 1


def test_resubscribing_a_confirmed_address_changes_nothing(application: App) -> None:
    """A confirmed subscriber who subscribes again keeps their confirmation and token."""
    token = _subscribe(application, "anna@example.se")
    application.service.subscriptions.confirm(token, LATER)
    again = application.service.subscriptions.subscribe(
        audience="subscribers", email="anna@example.se", name="Other", now=LATER + timedelta(days=1)
    )
    assert (again.status, again.token, again.confirmed_at) == ("confirmed", token, LATER)


def test_confirming_twice_keeps_the_first_confirmation(application: App) -> None:
    """Confirmation sets confirmed_at once; opening the link again changes nothing."""
    token = _subscribe(application, "anna@example.se")
    first = application.service.subscriptions.confirm(token, LATER)
    second = application.service.subscriptions.confirm(token, LATER + timedelta(hours=1))
    assert first.status == second.status == "confirmed"
    assert second.confirmed_at == LATER


def test_unsubscribe_is_idempotent_and_unknown_tokens_are_not_found(application: App) -> None:
    """Unsubscribing twice is harmless; an unknown token is NotFound with a clear message."""
    token = _subscribe(application, "anna@example.se")
    application.service.subscriptions.confirm(token, LATER)
    leave = _leave_token(application, "anna@example.se")
    assert application.service.subscriptions.unsubscribe(leave).status == "unsubscribed"
    assert application.service.subscriptions.unsubscribe(leave).status == "unsubscribed"
    with pytest.raises(NotFound, match=r"not valid \(unknown token\).*subscribe again"):
        application.service.subscriptions.unsubscribe("no-such-token")


def test_an_ended_subscription_is_not_revived_by_its_old_link(application: App) -> None:
    """After unsubscribing, the old confirmation link refuses; subscribing again starts over."""
    token = _subscribe(application, "anna@example.se")
    application.service.subscriptions.unsubscribe(_leave_token(application, "anna@example.se"))
    with pytest.raises(CommandError, match="has ended"):
        application.service.subscriptions.confirm(token, LATER)
    [stored] = application.service.subscriptions.list()
    assert stored.status == "unsubscribed"
    fresh = _subscribe(application, "anna@example.se")
    assert fresh != token
    assert application.service.subscriptions.list()[0].status == "pending"


def test_newsletter_reaches_only_confirmed_subscribers_with_their_own_link(
    application: App,
) -> None:
    """Only confirmed subscribers get the newsletter, each with their own List-Unsubscribe;
    the support_it contact list gets its e-mail with no unsubscribe header at all."""
    confirmed = {a: _subscribe(application, a) for a in ("a@example.se", "b@example.se")}
    for token in confirmed.values():
        application.service.subscriptions.confirm(token, LATER)
    _subscribe(application, "pending@example.se")
    gone = _subscribe(application, "gone@example.se")
    application.service.subscriptions.confirm(gone, LATER)
    application.service.subscriptions.unsubscribe(_leave_token(application, "gone@example.se"))

    application.service.declare(actor_id=OPERATOR, values=DECLARE)
    server = SmtpServer().start()
    try:
        environ = {
            "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
            "DRIFTPLAN_SMTP_PORT": str(server.port),
            "DRIFTPLAN_MAIL_FROM": "SAMSA driftinformation <drift@gits.example.se>",
        }
        dispatcher = make_dispatcher(application, environ)
        summary = dispatcher.deliver_due()
        dispatcher.close()
    finally:
        server.stop()

    assert summary.dead == 0  # website_news retries: see test_dispatch_smtp (xfail, a bug)
    by_channel: dict[str, dict[str, object]] = {}
    for got in server.received:
        mail = got.message
        by_channel.setdefault(mail["X-Driftplan-Channel"], {})[got.rcpt_tos[0]] = mail
    assert set(by_channel["newsletter"]) == set(confirmed)
    for address in confirmed:
        mail = by_channel["newsletter"][address]
        url = f"<https://gits.example.se/unsubscribe/{_leave_token(application, address)}>"
        assert str(mail["List-Unsubscribe"]).strip() == url  # type: ignore[index]
    support = by_channel["support_email"]
    assert len(support) == 6 and "it-support@kommun1.example.se" in support
    assert all(mail["List-Unsubscribe"] is None for mail in support.values())  # type: ignore[index]
    assert all(mail["Reply-To"] == "info.samsa@vgregion.se" for mail in support.values())  # type: ignore[index]


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {
        "DRIFTPLAN_DATA": str(tmp_path / "data"),
        "DRIFTPLAN_WORKFLOWS": str(WORKFLOWS),
        "DRIFTPLAN_PUBLIC_URL": "https://gits.example.se",
        "DRIFTPLAN_LANG": "en",
    }
    result = CliRunner().invoke(cli, ["subscribers", *args], env=env)
    return result.exit_code, result.stdout + result.stderr


def test_cli_adds_confirms_lists_and_unsubscribes(tmp_path: Path) -> None:
    """`subscribers add` mails the confirmation link to the address (here the file outbox,
    with no SMTP server set) and never prints it; confirm, list and unsubscribe work."""
    code, out = _cli(tmp_path, "add", "Anna@Example.se", "--name", "Anna", "--json")
    assert code == 0, out
    added = json.loads(out)
    assert (added["status"], added["audience"]) == ("pending", "subscribers")
    assert added["confirmation_mailed"] is True and "/subscribe/confirm/" not in out
    [mail] = (tmp_path / "data" / "outbox").rglob("*.eml")
    parsed = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "anna@example.se"
    body = parsed.get_body(("plain",))
    assert body is not None
    [link] = re.findall(r"https://gits\.example\.se/subscribe/confirm/\S+", body.get_content())
    token = link.rsplit("/", 1)[1]
    assert link == confirm_url("https://gits.example.se", token)

    code, out = _cli(tmp_path, "confirm", token)
    subscribed = (
        "anna@example.se now subscribes to Subscribers to the GITS newsletter (subscribers)"
    )
    assert code == 0 and subscribed in out
    code, out = _cli(tmp_path, "add", "anna@example.se", "--audience", "subscribers")
    assert code == 0 and "already subscribes" in out
    code, out = _cli(tmp_path, "list", "--json")
    [listed] = json.loads(out)
    assert listed["status"] == "confirmed" and token not in out
    code, out = _cli(tmp_path, "unsubscribe", token)
    assert code == 1 and "unknown token" in out  # a confirmation link never unsubscribes
    application = build(Settings(data=tmp_path / "data", workflows=WORKFLOWS))
    leave = _leave_token(application, "anna@example.se")
    application.database.dispose()
    code, out = _cli(tmp_path, "unsubscribe", leave)
    assert code == 0 and "no longer subscribes" in out
    code, out = _cli(tmp_path, "list", "--audience", "subscribers", "--status", "unsubscribed")
    assert code == 0 and "anna@" in out


def test_cli_refusals_exit_1_with_the_reason(tmp_path: Path) -> None:
    """A wrong audience or an unknown token exits 1 and says what is valid."""
    code, out = _cli(tmp_path, "add", "x@example.se", "--audience", "council")
    assert code == 1 and "Audiences with subscribers: subscribers" in " ".join(out.split())
    code, out = _cli(tmp_path, "unsubscribe", "nope")
    assert code == 1 and "unknown token" in out


def test_link_tokens_never_begin_with_a_dash_and_the_cli_takes_the_whole_link(
    tmp_path: Path,
) -> None:
    """A token beginning with "-" was read as an option by `subscribers unsubscribe` (CI saw it
    once in 64 runs); new tokens never begin with one, and a pasted link works as its token."""
    assert not any(new_link_token().startswith("-") for _ in range(5_000))
    link = "https://gits.example.se/subscribe/confirm/Ab3-x_Y?utm=1#top"
    assert token_from_link(link) == "Ab3-x_Y"
    assert token_from_link("  Ab3-x_Y\n") == "Ab3-x_Y"

    code, out = _cli(tmp_path, "add", "bo@example.se", "--name", "Bo", "--json")
    assert code == 0, out
    [mail] = (tmp_path / "data" / "outbox").rglob("*.eml")
    parsed = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    body = parsed.get_body(("plain",))
    assert body is not None
    [link] = re.findall(r"https://gits\.example\.se/subscribe/confirm/\S+", body.get_content())
    code, out = _cli(tmp_path, "confirm", link)
    assert code == 0 and "bo@example.se" in out, out
