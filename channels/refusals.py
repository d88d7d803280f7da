"""Settings a channel refuses when it is built: a folder outside the allowed roots, a URL that is
not http(s). The plan checker refuses these up front; this is the second line, on the values
as they finally are (after `${NAME}` substitution, with symlinks resolved).

`SettingRefused` is a `ConfigurationError` (the installation or the plan must change) that is
also a `PermanentDeliveryError`: the dispatcher builds channels inside its delivery attempt, and
retrying a message against a configuration that cannot work would only hide it. The message goes
to the dead letters at once, with this error's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from channels.declarations import PUBLISH_ROOT_SETTING
from engine.errors import ConfigurationError, PermanentDeliveryError

__all__ = ["SettingRefused", "checked_http_url", "public_url_form", "publish_folder"]


class SettingRefused(ConfigurationError, PermanentDeliveryError):
    """A channel setting that can never work; never retried."""


def public_url_form(url: str) -> str:
    """A URL as reports may show it: no user info, query or fragment (they may carry tokens)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


def checked_http_url(kind: str, setting: str, url: str) -> str:
    """`url` if it is an http(s) URL with a host, else `SettingRefused` naming the setting."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        scheme = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        raise SettingRefused(
            f"The {kind} setting '{setting}' must be an http or https URL with a host; it has "
            f"{scheme} ({public_url_form(url)!r}). file:, ftp:, javascript: and other schemes "
            f"are refused: set '{setting}' (or the variable it names) to an https:// URL."
        )
    return url.strip()


def publish_folder(kind: str, settings: Mapping[str, str], data_dir: str) -> Path:
    """The real folder a publishing channel writes to, refused unless inside the data folder or
    the installation's publish root (DRIFTPLAN_PUBLISH_ROOT).

    `publish_dir` defaults to `<data_dir>/public`; a relative one is relative to the data folder.
    Symlinks are resolved before comparing, so a link inside the data folder that points out of
    it is refused too.
    """
    data = Path(data_dir).resolve()
    raw = settings.get("publish_dir", "").strip()
    folder = (data / raw if raw else data / "public").resolve()
    roots = [data]
    root = settings.get(PUBLISH_ROOT_SETTING, "").strip()
    if root:
        roots.append(Path(root).resolve())
    if any(folder == allowed or folder.is_relative_to(allowed) for allowed in roots):
        return folder
    shown = str(root) if root else "not set"
    raise SettingRefused(
        f"The {kind} setting 'publish_dir' is {raw!r}, which is {folder}: outside the data "
        f"folder {data} and the publish root ({shown}). Publish into a folder inside the data "
        "folder, or set DRIFTPLAN_PUBLISH_ROOT to the folder your web server publishes."
    )
