"""What a directory id, an e-mail address and a phone number may look like.

Shared by the directory, its CSV lists and newsletter subscriptions, so that an address one of
them accepts is never refused by another.
"""

from __future__ import annotations

import re

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Deliberately plain: one @, no spaces, quotes, brackets or control characters (which could
# smuggle extra headers into a mail), and a dotted ASCII domain.
EMAIL_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]{3,30}$")
