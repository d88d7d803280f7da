"""The banner channel (kind "banner"): the notice on the SAMSA login page, as static files.

Owns four files in `publish_dir` (optionally prefixed by the setting "name_prefix"), rewritten
atomically on every update so that any web server can keep serving them while SAMSA — and our own
process — is down:

- `banner.json`: the current notice; its shape is documented in `docs/banner.schema.json`.
- `banner.html`: the same notice as an escaped HTML fragment, for server-side includes.
- `banner.js`: a script for the login page; it fetches `banner.json` next to its own URL and shows
  the notice with `textContent` only, and nothing at all when the notice is inactive. It adds
  `banner.css` to the page when it shows a notice.
- `banner.css`: the notice's own stylesheet (`channels.banner_style`): its colour follows the
  severity, and it needs nothing from the host page's styles.

`message.clear` withdraws the notice (`active: false`). A late retry never overwrites a newer
notice, a clear for one incident never removes another incident's notice, and an exercise never
replaces a real notice. Live without any setting (writing files needs no connection), unless
`publish_dir` lies outside the data folder and the publish root: then the channel refuses to be
built (`channels.refusals`).
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from filelock import FileLock

from channels.banner_style import BANNER_CSS
from channels.declarations import BUILTIN_SETTINGS
from channels.file_outbox import atomic_write
from channels.mime import clean_header, clean_text, html_datetime, paragraphs_html
from channels.refusals import SettingRefused, publish_folder
from engine.definition.channel_settings import ChannelSettings
from engine.definition.severity import SEVERITIES
from engine.domain.model import RecipientStatus
from engine.ports import ChannelStatus, DeliveryReport, OutgoingMessage, RecipientResult

__all__ = ["BANNER_CSS", "SEVERITIES", "BannerChannel", "banner_document", "banner_script"]

# The plan's severities (engine.definition.severity), one CSS class each; the quiet ones are
# announced politely (role "status"), the others interrupt (role "alert").
_QUIET = ("info", "resolved")
SCHEMA_VERSION = 1
_UPDATED_LABEL = {"sv": "Uppdaterad", "en": "Updated"}
_PREFIX_OK = re.compile(r"^[A-Za-z0-9_-]*$")

# Only textContent and attribute-free DOM building: notice text can never become markup.
_SCRIPT = """\
/* driftplan: the service notice for the login page.
   Include with <script src=".../{prefix}banner.js" defer></script>; optional attribute
   data-target="element-id" names the element to fill (default: a new element at the top of body).
   Reads {prefix}banner.json next to this script; shows nothing when no notice is active.
   Adds {prefix}banner.css (next to this script) to the page when it shows a notice. */
(function () {{
  "use strict";
  var script = document.currentScript;
  if (!script || !window.fetch || !window.URL) {{ return; }}
  var source = new URL({json_name}, script.src);
  var style = new URL({css_name}, script.src).href;
  function styled() {{
    var links = document.getElementsByTagName("link");
    for (var i = 0; i < links.length; i += 1) {{ if (links[i].href === style) {{ return; }} }}
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = style;
    (document.head || document.documentElement).appendChild(link);
  }}
  function show(notice) {{
    if (!notice || notice.active !== true) {{ return; }}
    styled();
    var id = script.getAttribute("data-target") || "driftplan-banner";
    var box = document.getElementById(id);
    if (!box) {{
      box = document.createElement("div");
      box.id = id;
      document.body.insertBefore(box, document.body.firstChild);
    }}
    while (box.firstChild) {{ box.removeChild(box.firstChild); }}
    var severity = {severities}.indexOf(notice.severity) >= 0 ? notice.severity : "warning";
    box.className = "driftplan-banner driftplan-banner-" + severity;
    box.setAttribute("role", {quiet}.indexOf(severity) >= 0 ? "status" : "alert");
    if (typeof notice.language === "string") {{ box.setAttribute("lang", notice.language); }}
    var title = document.createElement("strong");
    title.className = "driftplan-banner-title";
    title.textContent = String(notice.title || "");
    var text = document.createElement("p");
    text.className = "driftplan-banner-text";
    text.textContent = String(notice.text || "");
    box.appendChild(title);
    box.appendChild(text);
    if (typeof notice.link === "string" && /^https?:\\/\\//i.test(notice.link)) {{
      var para = document.createElement("p");
      var more = document.createElement("a");
      more.href = notice.link;
      more.textContent = notice.language === "en" ? "More information" : "Mer information";
      para.appendChild(more);
      box.appendChild(para);
    }}
  }}
  function start() {{
    fetch(source.href, {{ cache: "no-store", credentials: "omit" }})
      .then(function (response) {{ return response.ok ? response.json() : null; }})
      .then(show)
      .catch(function () {{ /* the login page must work without its notice */ }});
  }}
  if (document.body) {{ start(); }} else {{ document.addEventListener("DOMContentLoaded", start); }}
}})();
"""


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parsed(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)  # an unreadable stamp never blocks an update
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def banner_script(prefix: str = "") -> str:
    """The embeddable `banner.js` for files named with `prefix`."""
    return _SCRIPT.format(
        prefix=prefix,
        json_name=json.dumps(f"{prefix}banner.json"),
        css_name=json.dumps(f"{prefix}banner.css"),
        severities=json.dumps(list(SEVERITIES)),
        quiet=json.dumps(list(_QUIET)),
    )


def banner_document(message: OutgoingMessage, *, link: str | None = None) -> dict[str, object]:
    """The `banner.json` content for `message` (see docs/banner.schema.json)."""
    severity = message.extra.get("severity", "")
    if severity not in SEVERITIES:
        severity = "info" if message.clear else "warning"
    return {
        "schema_version": SCHEMA_VERSION,
        "active": not message.clear,
        "incident_id": message.incident_id,
        "title": clean_header(message.subject),
        "text": clean_text(message.body_text).strip(),
        "state": message.incident_state,
        "severity": severity,
        "exercise": message.exercise,
        "language": clean_header(message.language) or "sv",
        "updated_at": _iso(message.created_at),
        "message_id": message.message_id,
        "link": link,
    }


def _local(iso: str, zone_name: str) -> str:
    try:
        zone = ZoneInfo(zone_name or "Europe/Stockholm")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return _parsed(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def banner_fragment(document: Mapping[str, object], *, timezone: str = "") -> str:
    """`banner.html`: the notice as an escaped fragment, or only a comment when inactive."""
    if document.get("active") is not True:
        return "<!-- driftplan: ingen aktiv driftinformation / no active notice -->\n"
    language = str(document["language"])
    attr = {k: html.escape(str(document[k]), quote=True) for k in ("severity", "language")}
    role = "status" if document["severity"] in _QUIET else "alert"
    updated = str(document["updated_at"])
    stamp = html_datetime(_parsed(updated))  # HTML allows milliseconds at most
    parts = [
        f'<div class="driftplan-banner driftplan-banner-{attr["severity"]}" role="{role}" '
        f'lang="{attr["language"]}">',
        f'<strong class="driftplan-banner-title">{html.escape(str(document["title"]))}</strong>',
        paragraphs_html(str(document["text"])),
        f'<p class="driftplan-banner-updated">{_UPDATED_LABEL.get(language, "Uppdaterad")} '
        f'<time datetime="{stamp}">{_local(updated, timezone)}</time></p>',
    ]
    link = document.get("link")
    if isinstance(link, str) and link.startswith(("https://", "http://")):
        label = "More information" if language == "en" else "Mer information"
        parts.append(f'<p><a href="{html.escape(link, quote=True)}">{label}</a></p>')
    parts.append("</div>")
    return "\n".join(parts) + "\n"


class BannerChannel:
    """Publishes the login-page notice as static files (kind "banner")."""

    kind = "banner"
    settings_spec: ClassVar[ChannelSettings] = BUILTIN_SETTINGS["banner"]

    def __init__(self, settings: Mapping[str, str], *, data_dir: str) -> None:
        self._dir = publish_folder(self.kind, settings, data_dir)
        self._prefix = settings.get("name_prefix", "")
        if not _PREFIX_OK.match(self._prefix):
            # The prefix ends up in file names and in the script: keep it boring.
            self._prefix = re.sub(r"[^A-Za-z0-9_-]", "_", self._prefix)
        self._base_url = settings.get("base_url", "").strip()
        self._link = settings.get("link_url", "").strip() or None
        self._timezone = settings.get("timezone", "")  # shown times; stored times stay UTC
        self._lock = threading.Lock()

    @staticmethod
    def status(settings: Mapping[str, str], *, data_dir: str) -> ChannelStatus:
        """Live: the files are the channel; refused when the folder is outside the allowed roots."""
        base_url = settings.get("base_url", "").strip()
        try:
            folder = publish_folder("banner", settings, data_dir)
        except SettingRefused as exc:
            shown = settings.get("publish_dir", "")
            return ChannelStatus(live=False, target=f"file:{shown}", refused=str(exc))
        return ChannelStatus(live=True, target=base_url or f"file:{folder}")

    def _path(self, name: str) -> Path:
        return self._dir / f"{self._prefix}{name}"

    def _current(self) -> dict[str, object] | None:
        try:
            loaded = json.loads(self._path("banner.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return loaded if isinstance(loaded, dict) else None

    def _skip_reason(self, message: OutgoingMessage, current: Mapping[str, object] | None) -> str:
        """Why `message` must not replace the `current` notice, or "" when it may."""
        if current is None or current.get("message_id") == message.message_id:
            return ""
        if _parsed(current.get("updated_at")) > _parsed(_iso(message.created_at)):
            return "a newer notice is already published"
        if current.get("active") is True:
            if message.clear and current.get("incident_id") != message.incident_id:
                return f"the published notice belongs to incident {current.get('incident_id')}"
            if message.exercise and current.get("exercise") is False:
                return "an exercise does not replace a real notice"
        return ""

    def deliver(self, message: OutgoingMessage) -> DeliveryReport:
        """Publish (or clear) the notice; idempotent for the same message id."""
        target_file = self._path("banner.json")
        address = (
            f"{self._base_url.rstrip('/')}/{target_file.name}"
            if self._base_url
            else str(target_file)
        )
        target = self._base_url or f"file:{self._dir}"
        self._dir.mkdir(parents=True, exist_ok=True)
        # Two processes (dispatcher workers) may publish at once: the file lock orders them.
        with self._lock, FileLock(str(self._dir / f".{self._prefix}banner.lock")):
            skip = self._skip_reason(message, self._current())
            if skip:
                return DeliveryReport(
                    [RecipientResult(address, RecipientStatus.SENT, f"unchanged: {skip}")], target
                )
            document = banner_document(message, link=self._link)
            atomic_write(self._path("banner.css"), BANNER_CSS.encode("utf-8"))
            atomic_write(self._path("banner.js"), banner_script(self._prefix).encode("utf-8"))
            fragment = banner_fragment(document, timezone=self._timezone)
            atomic_write(self._path("banner.html"), fragment.encode("utf-8"))
            # JSON last: it is what the script reads, so it only points at finished files.
            data = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
            atomic_write(target_file, data + b"\n")
        detail = "notice cleared" if message.clear else "notice published"
        return DeliveryReport([RecipientResult(address, RecipientStatus.SENT, detail)], target)

    def close(self) -> None:
        """Nothing to release."""
