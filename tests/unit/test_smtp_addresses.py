"""The envelope addresses the SMTP channel writes are exactly those smtplib would write.

`channels.smtp_connection.angle_address` skips smtplib's re-parse for plain addr-specs; for any
text at all (plain or not, ASCII or not, control characters included) it must give what
`smtplib.quoteaddr` gives, or MAIL FROM / RCPT TO would change.
"""

from __future__ import annotations

import smtplib

from hypothesis import example, given
from hypothesis import strategies as st

from channels.smtp_connection import angle_address

ADDRESS_PARTS = st.text(
    alphabet=st.characters(min_codepoint=1, max_codepoint=0x1F64F), min_size=0, max_size=12
)


@given(local=ADDRESS_PARTS, domain=ADDRESS_PARTS)
@example(local="anna.andersson", domain="vgregion.se")
@example(local="a..b", domain="x.se")
@example(local='"anna andersson"', domain="x.se")
@example(local="Anna <anna", domain="x.se>")
@example(local="åsa", domain="kommun.se")
def test_angle_address_is_what_quoteaddr_gives(local: str, domain: str) -> None:
    address = f"{local}@{domain}"
    assert angle_address(address) == smtplib.quoteaddr(address)


@given(st.text(max_size=30))
def test_angle_address_of_any_text_is_what_quoteaddr_gives(text: str) -> None:
    assert angle_address(text) == smtplib.quoteaddr(text)
