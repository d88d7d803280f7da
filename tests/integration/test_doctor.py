"""`driftplan doctor`: what is unsafe about an installation, and the private data folder."""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from typer.testing import CliRunner

from engine.bootstrap import build, doctor
from engine.cli.app import app as cli
from engine.errors import ConfigurationError
from engine.settings import Settings
from engine.store import Database
from engine.store.database import HEAD_REVISION, MIGRATIONS
from tests.app_helpers import WORKFLOWS

HTTPS = "https://driftplan.example.se"


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No audit key, database, public URL or plan folder from the test runner's environment."""
    for name in ("AUDIT_KEY", "AUDIT_KEY_FILE", "DATABASE_URL", "PUBLIC_URL", "WORKFLOWS", "LANG"):
        monkeypatch.delenv(f"DRIFTPLAN_{name}", raising=False)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def key_file(folder: Path) -> Path:
    """A key file outside the data folder, as production keeps it."""
    folder.mkdir(mode=0o700)
    path = folder / "audit.key"
    path.write_text("ab" * 32 + "\n")
    path.chmod(0o600)
    return path


def codes(settings: Settings) -> list[str]:
    return [problem.code for problem in doctor(settings)]


def invoke(data: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = CliRunner().invoke(
        cli, ["doctor", "--data", str(data), *args], env={"COLUMNS": "200", **(env or {})}
    )
    return done.exit_code, done.output


def test_build_makes_an_existing_data_folder_private(tmp_path: Path) -> None:
    """A data folder that existed with mode 0777 is 0700 after build; the database 0600."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)
    build(Settings(data=data, workflows=WORKFLOWS)).close()
    assert mode(data) == 0o700
    assert mode(data / "driftplan.db") == 0o600
    assert mode(data / "audit.key") == 0o600


def test_the_default_key_beside_the_data_is_warned_about(tmp_path: Path) -> None:
    """The generated <data>/audit.key is fine for a trial and named as unsafe (exit 1)."""
    data = tmp_path / "data"
    build(Settings(data=data, workflows=WORKFLOWS, public_url=HTTPS)).close()
    assert codes(Settings(data=data, workflows=WORKFLOWS, public_url=HTTPS)) == ["key_beside_data"]
    env = {"DRIFTPLAN_WORKFLOWS": str(WORKFLOWS), "DRIFTPLAN_PUBLIC_URL": HTTPS}
    code, out = invoke(data, env=env)
    assert code == 1
    assert "Osäkert i installationen:" in out
    assert f"Granskningsnyckeln ligger bland datat ({data / 'audit.key'})" in out
    assert "Bra för att prova, inte för drift" in out
    code, out = invoke(data, "--lang", "en", env=env)
    assert code == 1 and "Fine for trying driftplan out, not for production" in out


def test_a_safe_installation_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Key outside the data, private files, https, anchors in every plan, schema at head."""
    key = key_file(tmp_path / "keys")
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY_FILE", str(key))
    data = tmp_path / "data"
    build(Settings(data=data, workflows=WORKFLOWS)).close()
    assert not (data / "audit.key").exists()
    assert codes(Settings(data=data, workflows=WORKFLOWS, public_url=HTTPS)) == []
    env = {"DRIFTPLAN_WORKFLOWS": str(WORKFLOWS), "DRIFTPLAN_PUBLIC_URL": HTTPS}
    assert invoke(data, env=env) == (0, "Inget osäkert hittades.\n")
    code, out = invoke(data, "--json", env=env)
    assert code == 0 and json.loads(out) == {"safe": True, "problems": []}


def test_a_missing_key_file_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DRIFTPLAN_AUDIT_KEY_FILE naming nothing is not silently replaced by a new key."""
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY_FILE", str(tmp_path / "nowhere.key"))
    settings = Settings(data=tmp_path / "data", workflows=WORKFLOWS, public_url=HTTPS)
    assert codes(settings) == ["key_missing", "data_missing", "schema_missing"]
    with pytest.raises(ConfigurationError, match=r"nowhere\.key, which does not exist"):
        build(settings)


def test_loose_modes_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data folder looser than 0700, database and key files looser than 0600."""
    key = key_file(tmp_path / "keys")
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY_FILE", str(key))
    data = tmp_path / "data"
    build(Settings(data=data, workflows=WORKFLOWS)).close()
    data.chmod(0o755)
    (data / "driftplan.db").chmod(0o644)
    key.chmod(0o640)
    problems = doctor(Settings(data=data, workflows=WORKFLOWS, public_url=HTTPS))
    assert [(p.code, p.params["path"], p.params["mode"]) for p in problems] == [
        ("file_mode", key, "0640"),
        ("folder_mode", data, "0755"),
        ("file_mode", data / "driftplan.db", "0644"),
    ]
    assert problems[1].text("en") == f"{data} has mode 0755, looser than 0700: chmod 0700 {data}"


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("", ["public_url_unset"]),
        ("http://driftplan.example.se", ["public_url_plain"]),
        ("http://127.0.0.1:8000", []),
        ("http://localhost:8000", []),
        ("http://[::1]:8000", []),
        (HTTPS, []),
    ],
)
def test_the_public_url_must_be_https_unless_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, found: list[str]
) -> None:
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", "cd" * 32)
    data = tmp_path / "data"
    build(Settings(data=data, workflows=WORKFLOWS)).close()
    assert codes(Settings(data=data, workflows=WORKFLOWS, public_url=url)) == found


def test_a_plan_without_an_anchor_channel_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", "cd" * 32)
    plans = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, plans)
    plan = plans / "samsa_outage.yaml"
    text = plan.read_text("utf-8")
    plan.write_text(text[: text.index("\naudit:")] + "\n", "utf-8")
    data = tmp_path / "data"
    build(Settings(data=data, workflows=plans)).close()
    problems = doctor(Settings(data=data, workflows=plans, public_url=HTTPS))
    assert [(p.code, p.params.get("plan")) for p in problems] == [("no_anchor", "samsa_outage")]
    assert "audit: {anchor: {channel: CHANNEL, every: 1d}}" in problems[0].text("en")


def test_an_unmigrated_schema_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A database at an older revision (or none) is named; doctor itself migrates nothing."""
    monkeypatch.setenv("DRIFTPLAN_AUDIT_KEY", "cd" * 32)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    settings = Settings(data=data, workflows=WORKFLOWS, public_url=HTTPS)
    assert codes(settings) == ["schema_missing"]
    assert not (data / "driftplan.db").exists()  # doctor creates nothing
    database = Database(settings.database())
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    database.dispose()
    (data / "driftplan.db").chmod(0o600)
    problems = doctor(settings)
    assert [(p.code, p.params) for p in problems] == [
        ("schema_old", {"current": "0001", "head": HEAD_REVISION})
    ]
    database = Database(settings.database())
    assert database.schema_status().current == "0001"
    database.dispose()
