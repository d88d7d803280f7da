"""The channel registry: built-in kinds, entry-point plugins and settings resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.registry import (
    builtin_kinds,
    known_kind_names,
    load_channel_kinds,
    resolve_settings,
    unset_variables,
)
from engine.errors import ConfigurationError
from engine.ports import Channel


def _fake_distribution(root: Path, name: str, entry_points: str) -> None:
    """A `<name>-0.1.dist-info` folder: what pip leaves behind, enough for importlib.metadata."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[driftplan.channels]\n{entry_points}\n")


def test_builtin_kinds_are_complete_channels(tmp_path: Path) -> None:
    """Every built-in kind is registered under its own name and builds a Channel."""
    kinds = builtin_kinds()
    assert sorted(kinds) == [
        "banner",
        "calendar",
        "email",
        "file_outbox",
        "news",
        "newsletter",
        "webhook",
    ]
    for name, factory in kinds.items():
        assert factory.kind == name
        channel = factory({}, data_dir=str(tmp_path))
        assert isinstance(channel, Channel)
        channel.close()


def test_plugin_from_entry_point_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution declaring a driftplan.channels entry point adds its kind."""
    _fake_distribution(
        tmp_path,
        "driftplan_recording",
        "recording = tests.plugins.recording_channel:RecordingChannel",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    kinds = load_channel_kinds()
    assert kinds["recording"].__name__ == "RecordingChannel"  # type: ignore[attr-defined]
    assert "email" in kinds
    assert "recording" in known_kind_names()


def test_plugin_that_cannot_be_imported_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin whose module is missing gives an error naming plugin and distribution."""
    _fake_distribution(tmp_path, "driftplan_ghost", "ghost = tests.plugins.no_such_module:Ghost")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigurationError) as caught:
        load_channel_kinds()
    message = str(caught.value)
    assert "'ghost'" in message and "driftplan_ghost" in message and "no_such_module" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("broken = tests.plugins.recording_channel:NotAChannel", "not a channel class"),
        ("other = tests.plugins.recording_channel:RecordingChannel", "kind 'recording'"),
        ("email = tests.plugins.recording_channel:RecordingChannel", "built-in kind 'email'"),
    ],
)
def test_invalid_plugins_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, expected: str
) -> None:
    """Non-channels, kind/name mismatches and replacements of built-ins are refused by name."""
    _fake_distribution(tmp_path, "driftplan_bad", line)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigurationError, match=expected):
        load_channel_kinds()


def test_environment_defaults_then_plan_settings() -> None:
    """SMTP settings come from the environment; the plan overrides them; timeout defaults to 10."""
    environ = {
        "DRIFTPLAN_SMTP_HOST": "smtp.vgregion.example",
        "DRIFTPLAN_SMTP_PORT": "587",
        "DRIFTPLAN_MAIL_FROM": "drift@example.se",
        "DRIFTPLAN_SMTP_USER": "",
    }
    resolved = resolve_settings("email", {"port": "2525"}, environ)
    assert resolved == {
        "host": "smtp.vgregion.example",
        "port": "2525",
        "mail_from": "drift@example.se",
        "timeout": "10",
    }
    banner = resolve_settings("banner", {}, {"DRIFTPLAN_PUBLISH_DIR": "/srv/www"})
    assert banner == {"publish_dir": "/srv/www"}
    calendar = resolve_settings("calendar", {}, {"DRIFTPLAN_MEETING_LOCATION": "Teams"})
    assert calendar["meeting_location"] == "Teams"


def test_references_are_substituted_and_missing_ones_named() -> None:
    """${NAME} takes the variable's value; a setting whose variable is unset is left out (the
    channel then falls back to the file outbox) and `unset_variables` names the variable."""
    environ = {"HOOK_SECRET": "abc", "HOOK_HOST": "hooks.example.se"}
    resolved = resolve_settings(
        "webhook", {"url": "https://${HOOK_HOST}/samsa", "secret": "${HOOK_SECRET}"}, environ
    )
    assert resolved == {"url": "https://hooks.example.se/samsa", "secret": "abc", "timeout": "10"}
    assert "url" not in resolve_settings("webhook", {"url": "${HOOK_URL}"}, environ)
    assert unset_variables({"url": "${HOOK_URL}", "secret": "${HOOK_SECRET}"}, environ) == [
        "HOOK_URL"
    ]


@pytest.mark.parametrize(
    ("kind", "setting"), [("webhook", "secret"), ("email", "password"), ("recording", "api_token")]
)
def test_secrets_must_come_from_the_environment(kind: str, setting: str) -> None:
    """A secret written literally in the plan is refused (a plugin that declares no settings
    cannot take one at all)."""
    with pytest.raises(
        ConfigurationError, match=f"'{setting}' of a {kind} channel (is|looks like) a secret"
    ):
        resolve_settings(kind, {setting: "hunter2"}, {})
