"""Small parts of the web service that need no server: the public-URL rule, the sign-in rate
limit, the error-to-status table and the link signature."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from itsdangerous import URLSafeSerializer

from engine import errors
from engine.domain.model import Approval, ApprovalStatus
from engine.errors import ConfigurationError, LinkRefused
from engine.service.link_signer import PURPOSE, LinkSigner
from engine.web.problems import status_of
from engine.web.ratelimit import RateLimit
from engine.web.server import check_public_url, is_loopback


@pytest.mark.parametrize(
    "url",
    ["https://driftplan.vgregion.se", "http://127.0.0.1:8000", "http://localhost:8000/x"],
)
def test_https_or_loopback_public_urls_are_accepted(url: str) -> None:
    """An https address, or http on this machine only, is a usable public URL."""
    check_public_url(url)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://driftplan.vgregion.se", "https"),
        ("driftplan.vgregion.se", "absolute"),
        ("", "absolute"),
        ("https://x.se/?a=1", "query"),
    ],
)
def test_other_public_urls_are_refused_naming_the_fix(url: str, words: str) -> None:
    """Clear-text links to another machine, relative or empty URLs are refused with the fix."""
    with pytest.raises(ConfigurationError) as caught:
        check_public_url(url)
    assert words in str(caught.value) and "DRIFTPLAN_PUBLIC_URL" in str(caught.value)
    assert "DRIFTPLAN_PUBLIC_URL" in caught.value.text("sv")


def test_loopback_names() -> None:
    """127.0.0.0/8, ::1 and localhost are loopback; other names and addresses are not."""
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "10.0.0.1", "example.se", ""))


def test_rate_limit_blocks_after_the_limit_until_the_window_passes() -> None:
    """The n+1th event within the window is blocked, for that key only, until it slides on."""
    now = [0.0]
    limit = RateLimit(3, 60, clock=lambda: now[0])
    for _ in range(3):
        assert limit.blocked("anna") == 0
        limit.hit("anna")
    assert limit.blocked("anna") == pytest.approx(60)
    assert limit.blocked("johan") == 0
    now[0] = 30
    assert limit.blocked("anna") == pytest.approx(30)
    now[0] = 60.5
    assert limit.blocked("anna") == 0


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.NotAuthenticated("x"), 401),
        (errors.NotAuthorized("a", "b", []), 403),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (errors.TransitionNotAllowed("t", "s", []), 409),
        (errors.ApprovalError("x"), 409),
        (errors.UnknownTrigger("t", []), 422),
        (errors.MissingField(["f"], "x"), 422),
        (errors.InvalidField("f", "x"), 422),
        (errors.CommandError("x"), 422),
        (errors.ConfigurationError("x"), 503),
        (errors.DriftplanError("x"), 500),
    ],
)
def test_each_error_has_one_status(error: errors.DriftplanError, status: int) -> None:
    """Errors map to HTTP statuses by the one table, the most specific class first."""
    assert status_of(error)[0] == status


def _approval() -> Approval:
    at = datetime(2026, 11, 30, 12, tzinfo=UTC)
    return Approval(
        id="A-1",
        incident_id="I-1",
        trigger="enter_total_reserve",
        requested_by="anna.andersson",
        requested_at=at,
        payload={},
        slots=[],
        status=ApprovalStatus.PENDING,
        expires_at=at,
        state_epoch=3,
    )


class _Links:
    def __init__(self) -> None:
        self.added: list[object] = []

    def add_link(self, link: object) -> None:
        self.added.append(link)


class _Uow:
    def __init__(self) -> None:
        self.accounts = _Links()


def test_a_link_reads_back_and_any_change_is_refused_as_altered() -> None:
    """A link's token reads back as its claim; a changed character, another key or another
    purpose's signature is refused as altered."""
    signer = LinkSigner(b"k" * 32, "https://driftplan.example.se/")
    uow = _Uow()
    url = signer.issue(uow, _approval(), "margareta.lund", datetime.now(UTC))  # type: ignore[arg-type]
    assert url.startswith("https://driftplan.example.se/beslut/l/")
    token = url.rsplit("/", 1)[1]
    claim = signer.read(token)
    assert (claim.approval_id, claim.person_id, claim.state_epoch) == ("A-1", "margareta.lund", 3)
    assert len(uow.accounts.added) == 1
    # A character inside the signature (the last one carries unused padding bits in base64,
    # so changing only those would decode to the same, valid signature).
    flipped = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    forged_elsewhere = URLSafeSerializer(b"k" * 32, salt="another purpose").dumps(
        {"n": claim.nonce, "a": "A-1", "p": "olof.strand", "e": 3}
    )
    other_key = URLSafeSerializer(b"x" * 32, salt=PURPOSE).dumps(
        {"n": claim.nonce, "a": "A-1", "p": "olof.strand", "e": 3}
    )
    for bad in (flipped, forged_elsewhere, other_key, "", "abc"):
        with pytest.raises(LinkRefused) as caught:
            signer.read(bad)
        assert caught.value.reason == "altered"
