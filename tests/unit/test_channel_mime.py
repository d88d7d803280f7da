"""Mail building and webhook signing, without any server."""

from __future__ import annotations

from email import policy

import pytest

from channels.mime import (
    build_email,
    clean_header,
    exercise_subject,
    format_message_id,
    recipient_address,
)
from channels.smtp_email import SmtpConfig
from channels.webhook import sign, verify_signature
from engine.errors import ConfigurationError
from engine.ports import Recipient
from tests.channel_helpers import make_message, parse_mail


def test_clean_header_removes_every_line_break() -> None:
    """CR, LF, NEL, U+2028 and other controls become single spaces."""
    assert clean_header("a\r\nb\nc\rd\x85e\u2028f\x00g") == "a b c d e f g"


def test_built_mail_has_no_injected_headers() -> None:
    """A subject with CR/LF yields one Subject header and no injected one."""
    message = make_message(subject="Hej\r\nBcc: x@evil.example")
    to = recipient_address(Recipient("anna@example.se", "Anna\nCc: y@evil.example"))
    mail = parse_mail(
        build_email(message, to, mail_from="drift@example.se").as_bytes(policy=policy.SMTP)
    )
    assert mail["Bcc"] is None and mail["Cc"] is None
    assert mail["Subject"] == "Hej Bcc: x@evil.example"


@pytest.mark.parametrize(
    ("exercise", "subject", "expected"),
    [
        (True, "ÖVNING: Störning", "ÖVNING: Störning"),
        (True, "Störning", "ÖVNING: Störning"),
        (False, "Störning", "Störning"),
    ],
)
def test_exercise_mark_is_never_doubled(exercise: bool, subject: str, expected: str) -> None:
    """Exercises say ÖVNING exactly once; real messages never do."""
    assert exercise_subject(make_message(exercise=exercise, subject=subject)) == expected


def test_message_id_format() -> None:
    """Message ids are bracketed and always have a domain."""
    assert format_message_id("abc@driftplan") == "<abc@driftplan>"
    assert format_message_id("abc") == "<abc@driftplan>"
    assert format_message_id("<abc@x>\r\n") == "<abc@x>"


@pytest.mark.parametrize(
    "address",
    ["no-at-sign", "a@b", "a b@example.se", "å@example.se", "a@example.se\r\nx", "<a@b.se>"],
)
def test_unusable_addresses_are_refused(address: str) -> None:
    """Addresses that SMTP could misread are refused before sending."""
    with pytest.raises(ValueError, match="invalid e-mail address"):
        recipient_address(Recipient(address))


def test_smtp_config_validates_security() -> None:
    """An unknown security mode names the valid ones; a user implies STARTTLS by default."""
    with pytest.raises(ConfigurationError, match="none, starttls, tls"):
        SmtpConfig.from_settings({"host": "h", "mail_from": "a@b.se", "security": "ssl"})
    config = SmtpConfig.from_settings({"host": "h", "mail_from": "a@b.se", "user": "u"})
    assert (config.security, config.port) == ("starttls", 587)


def test_signature_verifies_only_the_signed_body_and_time() -> None:
    """A signature verifies for its body and timestamp within the tolerance, and nothing else."""
    body = b'{"incident_id":"INC-42"}'
    signature = sign("k", 1_700_000_000, body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify_signature("k", "1700000000", body, signature, now=1_700_000_100)
    assert not verify_signature("other", "1700000000", body, signature, now=1_700_000_100)
    assert not verify_signature("k", "1700000000", body + b" ", signature, now=1_700_000_100)
    assert not verify_signature("k", "1700000001", body, signature, now=1_700_000_100)
    assert not verify_signature("k", "1700000000", body, signature, now=1_700_000_301)
    assert not verify_signature("k", "soon", body, signature, now=1_700_000_100)
