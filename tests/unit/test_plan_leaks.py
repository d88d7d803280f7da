"""Nothing forged: a plan cannot publish a secret, write outside its folders or call a file URL.

Each hostile plan is the shipped SAMSA plan (copied with its templates) with one edit; it must
be refused by `driftplan validate` — `engine.definition.report.run_validate` with the real
registry's kinds and declarations — at the line of the edit, with a message naming the setting,
the rule and the fix. The same rules hold at run time (the registry refuses the settings, the
publishing channels compare real paths, the webhook refuses a non-http URL for good), and once
the real console script is run on a hostile plan.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from channels.banner import BannerChannel
from channels.news import NewsChannel
from channels.refusals import SettingRefused
from channels.registry import ChannelRegistry, resolve_settings
from channels.webhook import WebhookChannel
from engine.bootstrap import default_channels
from engine.definition.channel_settings import ChannelSettings, PathRoots
from engine.definition.report import run_validate
from engine.errors import ConfigurationError, PermanentDeliveryError
from tests.plan_fixtures import VALID_PLAN, line_of

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / "workflows"
NEWS = "  website_news:\n    kind: news\n"
HOOK = "      url: ${DRIFTPLAN_ITNYTT_URL}\n"


@dataclass(frozen=True)
class Leak:
    """One hostile edit of the SAMSA plan and the error it must give at the edited line."""

    name: str
    old: str
    new: str
    message: str

    @property
    def at(self) -> str:
        """The edited line (the last of `new`), which is unique in the plan."""
        return self.new.rstrip("\n").rsplit("\n", 1)[-1].strip()


LEAKS = [
    Leak(
        "secret in a news title (public text)",
        NEWS,
        NEWS + '    settings: {title: "Drift ${DRIFTPLAN_SMTP_PASSWORD}"}\n',
        "channels.website_news.settings.title is public text that the channel may publish, so "
        "it must not refer to an environment variable (DRIFTPLAN_SMTP_PASSWORD)",
    ),
    Leak(
        "secret in a webhook URL's query",
        HOOK,
        '      url: "https://itnytt.example.se/hook?key=${DRIFTPLAN_SMTP_PASSWORD}"\n',
        "channels.it_nytt.settings.url has an environment reference in its query string "
        "(DRIFTPLAN_SMTP_PASSWORD)",
    ),
    Leak(
        "secret variable in a connection setting",
        HOOK,
        '      url: "https://${DRIFTPLAN_SMTP_PASSWORD}.example.se/hook"\n',
        "channels.it_nytt.settings.url refers to DRIFTPLAN_SMTP_PASSWORD, which holds a "
        "secret, in a connection setting: a secret may only fill a secret setting "
        "(of kind webhook: 'secret')",
    ),
    Leak(
        "secret mixed with text",
        "      secret: ${DRIFTPLAN_ITNYTT_SECRET}\n",
        '      secret: "abc${DRIFTPLAN_ITNYTT_SECRET}"\n',
        "channels.it_nytt.settings.secret is a secret: give it as one whole environment "
        "reference such as ${IT_NYTT_SECRET}",
    ),
    Leak(
        "publish_dir climbing out with ..",
        NEWS,
        NEWS + "    settings: {publish_dir: ../..}\n",
        "channels.website_news.settings.publish_dir climbs out of the data folder with '..'",
    ),
    Leak(
        "publish_dir climbing out of its variable",
        NEWS,
        NEWS + "    settings: {publish_dir: '${DRIFTPLAN_PUBLISH_DIR}/../../etc'}\n",
        "publish_dir climbs out of ${DRIFTPLAN_PUBLISH_DIR} with '..'",
    ),
    Leak(
        "absolute publish_dir outside the data folder and publish root",
        NEWS,
        NEWS + "    settings: {publish_dir: /etc/driftplan}\n",
        "channels.website_news.settings.publish_dir is '/etc/driftplan', outside the data folder",
    ),
    Leak(
        "file:// webhook",
        HOOK,
        '      url: "file:///etc/passwd"\n',
        "channels.it_nytt.settings.url must be an http or https URL, but has 'file:'",
    ),
    Leak(
        "javascript: link",
        "  login_page:\n    kind: banner\n",
        "  login_page:\n    kind: banner\n    settings: {link_url: 'javascript:alert(1)'}\n",
        "channels.login_page.settings.link_url must be an http or https URL, but has 'javascript:'",
    ),
    Leak(
        "a setting the kind does not declare",
        NEWS,
        NEWS + "    settings: {titel: Driftinformation}\n",
        "channels.website_news.settings.titel: a news channel has no setting 'titel'. Known "
        "settings of kind news: base_url, feed_id, max_entries, publish_dir, timezone, title",
    ),
]


def samsa_copy(folder: Path, old: str = "", new: str = "") -> tuple[Path, str]:
    """The SAMSA plan and its templates under `folder`, with `old` replaced by `new`."""
    shutil.copytree(WORKFLOWS, folder, dirs_exist_ok=True)
    path = folder / "samsa_outage.yaml"
    text = path.read_text("utf-8")
    if old:
        assert text.count(old) == 1, f"{old!r} is not unique in the SAMSA plan"
        text = text.replace(old, new)
        path.write_text(text, "utf-8")
    return path, text


def validate(path: Path, data: Path, publish_root: Path | None = None) -> tuple[int, str]:
    """`driftplan validate PATH` as a function, with the installation's real channel kinds."""
    kinds = default_channels()
    roots = PathRoots.of(str(data), str(publish_root) if publish_root else None)
    return run_validate(
        [str(path)],
        workflows=WORKFLOWS,
        known_kinds=kinds.names(),
        declarations=kinds.declarations(),
        roots=roots,
    )


@pytest.mark.parametrize("leak", LEAKS, ids=lambda leak: leak.name)
def test_hostile_settings_are_refused_by_validate_at_their_line(leak: Leak, tmp_path: Path) -> None:
    """Each hostile setting is an error at its own line, naming setting, rule and fix."""
    path, text = samsa_copy(tmp_path / "plan", leak.old, leak.new)
    code, output = validate(path, tmp_path / "data")
    assert code == 1, output
    line = line_of(text, leak.at)
    located = [row for row in output.splitlines() if row.startswith(f"{path}:{line}:")]
    assert any(leak.message in row and ": error: " in row for row in located), output


def test_the_shipped_samsa_plan_validates_with_zero_errors(tmp_path: Path) -> None:
    """The repository's plan passes every settings rule and renders every template."""
    code, output = validate(WORKFLOWS / "samsa_outage.yaml", tmp_path / "data")
    assert (code, output) == (0, "1 plan checked, all valid: 0 errors, 0 warnings")


def test_publish_dir_inside_the_publish_root_is_accepted(tmp_path: Path) -> None:
    """An absolute folder is fine inside DRIFTPLAN_PUBLISH_ROOT, and refused without it."""
    www = tmp_path / "www"
    edit = NEWS + f"    settings: {{publish_dir: {www}/status}}\n"
    path, _ = samsa_copy(tmp_path / "plan", NEWS, edit)
    assert validate(path, tmp_path / "data", publish_root=www)[0] == 0
    code, output = validate(path, tmp_path / "data")
    assert code == 1 and "DRIFTPLAN_PUBLISH_ROOT" in output


def test_the_console_script_refuses_a_secret_in_public_text(tmp_path: Path) -> None:
    """`driftplan validate` itself exits 1 and prints the located error."""
    leak = LEAKS[0]
    path, text = samsa_copy(tmp_path / "plan", leak.old, leak.new)
    env = {**os.environ, "DRIFTPLAN_DATA": str(tmp_path / "data")}
    env.pop("DRIFTPLAN_PUBLISH_ROOT", None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "driftplan"), "validate", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert f"{path}:{line_of(text, leak.at)}:" in done.stdout
    assert leak.message in done.stdout


# ------------------------------------------------------------------------------ run time


def test_the_registry_refuses_a_secret_in_public_text_at_run_time() -> None:
    """A plan never validated still cannot publish a variable: resolving its settings fails."""
    with pytest.raises(ConfigurationError, match="'title' of a news channel is public text"):
        resolve_settings("news", {"title": "${DRIFTPLAN_SMTP_PASSWORD}"}, {})
    with pytest.raises(ConfigurationError, match="query string"):
        resolve_settings("webhook", {"url": "https://h.example/x?t=${T}", "secret": "${S}"}, {})


def test_the_registry_hands_the_publish_root_to_publishing_kinds_only() -> None:
    """The publish root comes from the installation, never from a plan."""
    registry = ChannelRegistry(publish_root="/srv/www")
    assert registry.resolve("news", {}, {})["publish_root"] == "/srv/www"
    assert "publish_root" not in registry.resolve("webhook", {}, {})
    with pytest.raises(ConfigurationError, match="no setting 'publish_root'"):
        registry.resolve("news", {"publish_root": "/"}, {})


def test_a_plugin_without_a_declaration_treats_every_setting_as_public() -> None:
    """Undeclared kinds may not take `${NAME}` at all; declared plugins follow their classes."""
    with pytest.raises(ConfigurationError, match="declares no settings"):
        resolve_settings("recording", {"url": "${HOOK_URL}"}, {})
    spec = ChannelSettings(connection=("url",), urls=("url",))
    assert resolve_settings("recording", {"url": "${U}"}, {"U": "https://x.example"}, spec=spec)


@pytest.mark.parametrize("factory", [BannerChannel, NewsChannel])
def test_publishing_channels_refuse_a_folder_outside_their_roots(
    factory: type[BannerChannel] | type[NewsChannel], tmp_path: Path
) -> None:
    """`..`, an absolute folder and a symlink out of the data folder are refused when built."""
    data = tmp_path / "data"
    (data / "public").mkdir(parents=True)
    (data / "public" / "escape").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    for folder in ("../..", str(tmp_path / "elsewhere"), "public/escape"):
        with pytest.raises(SettingRefused, match="outside the data folder") as caught:
            factory({"publish_dir": folder}, data_dir=str(data))
        assert isinstance(caught.value, ConfigurationError)
        status = factory.status({"publish_dir": folder}, data_dir=str(data))
        assert not status.live and "DRIFTPLAN_PUBLISH_ROOT" in status.refused
    allowed = {"publish_dir": str(tmp_path / "elsewhere"), "publish_root": str(tmp_path)}
    assert factory.status(allowed, data_dir=str(data)).live
    factory(allowed, data_dir=str(data)).close()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://files.example/x", "javascript:x"])
def test_a_non_http_webhook_is_not_live_and_fails_for_good(url: str, tmp_path: Path) -> None:
    """`channels` shows it refused, and building it is a permanent (never retried) failure."""
    settings = {"url": url, "secret": "s3cret"}
    status = WebhookChannel.status(settings, data_dir=str(tmp_path))
    assert not status.live and "http or https" in status.refused
    with pytest.raises(PermanentDeliveryError, match="'url' must be an http or https URL"):
        WebhookChannel(settings, data_dir=str(tmp_path))


def _plugin(root: Path, name: str, line: str) -> None:
    """A `<name>-0.1.dist-info` declaring one driftplan.channels entry point."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[driftplan.channels]\n{line}\n")


def test_validate_treats_an_undeclared_plugin_as_public_and_names_a_broken_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin without `settings_spec` takes no `${NAME}` (and validate warns why); a plugin
    that cannot be loaded is an error at the channel's kind, not a crash."""
    _plugin(tmp_path, "rec", "recording = tests.plugins.recording_channel:RecordingChannel")
    _plugin(tmp_path, "ghost", "ghost = tests.plugins.no_such_module:Ghost")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = VALID_PLAN.replace("    kind: email\n", "    kind: recording\n").replace(
        "  banner: {kind: banner, audience: users}\n",
        "  banner: {kind: ghost, audience: users}\n",
    )
    path = tmp_path / "plan.yaml"
    path.write_text(text, "utf-8")
    code, output = validate(path, tmp_path / "data")
    assert code == 1
    line = line_of(text, "settings: {api_token")
    assert f"{path}:{line}:" in output
    assert "channels.mail.settings.host is public text that the channel may publish (kind " in (
        output
    )
    assert "channels.mail.settings.api_token looks like a secret, but kind 'recording'" in output
    assert "warning: channel kind 'recording' declares no settings" in output
    assert (
        f"{path}:{line_of(text, 'kind: ghost')}:" in output
        and "the settings of channel 'banner' cannot be checked" in output
    )
