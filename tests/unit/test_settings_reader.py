"""`engine.settings.Settings` reads DRIFTPLAN_* by its own small reader (issue #13), with the
rules pydantic-settings had: the prefix, names matched without regard to case, constructor
values over the environment (an explicit None included), unknown names ignored, values
validated by pydantic, and the environment snapshot the channels resolve from. The command
line turns an invalid value into an error that names the variable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.cli.common import invalid_settings
from engine.errors import ConfigurationError
from engine.settings import Settings, from_environment, variable

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No DRIFTPLAN_* variable of the test runner's leaks into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("DRIFTPLAN_"):
            monkeypatch.delenv(name)


def test_defaults_without_environment() -> None:
    settings = Settings()
    assert settings.data == Path("driftplan-data")
    assert settings.workflows == Path("workflows")
    assert (settings.lang, settings.public_url, settings.database_url) == ("sv", "", None)
    assert settings.publish_root is None and settings.audit_key_file is None
    assert settings.poll_seconds is None and settings.sweep_seconds is None


def test_every_field_is_read_from_its_prefixed_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "DRIFTPLAN_DATA": "/srv/data",
        "DRIFTPLAN_DATABASE_URL": "postgresql+psycopg://db/driftplan",
        "DRIFTPLAN_WORKFLOWS": "/srv/plans",
        "DRIFTPLAN_LANG": "en",
        "DRIFTPLAN_PUBLIC_URL": "https://driftplan.example",
        "DRIFTPLAN_PUBLISH_ROOT": "/srv/www",
        "DRIFTPLAN_AUDIT_KEY_FILE": "/etc/driftplan/key",
        "DRIFTPLAN_POLL_SECONDS": "2.5",
        "DRIFTPLAN_SWEEP_SECONDS": "10",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings.load()
    assert settings.data == Path("/srv/data")
    assert settings.database_url == "postgresql+psycopg://db/driftplan"
    assert settings.workflows == Path("/srv/plans")
    assert settings.lang == "en"
    assert settings.public_url == "https://driftplan.example"
    assert settings.publish_root == Path("/srv/www")
    assert settings.audit_key_file == Path("/etc/driftplan/key")
    assert (settings.poll_seconds, settings.sweep_seconds) == (2.5, 10.0)
    assert set(values) == {variable(field) for field in Settings.model_fields}


def test_names_match_without_regard_to_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("driftplan_lang", "en")
    monkeypatch.setenv("Driftplan_Public_Url", "https://x.example")
    settings = Settings()
    assert (settings.lang, settings.public_url) == ("en", "https://x.example")


def test_unknown_variables_and_arguments_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTPLAN_NO_SUCH_SETTING", "1")
    monkeypatch.setenv("LANG", "C")  # no prefix: not ours
    settings = Settings(no_such_argument=1)
    assert settings.lang == "sv"
    assert not hasattr(settings, "no_such_argument")
    assert from_environment({"DRIFTPLAN_NO_SUCH_SETTING": "1", "LANG": "C"}) == {}


def test_constructor_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTPLAN_DATA", "/from/env")
    monkeypatch.setenv("DRIFTPLAN_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("DRIFTPLAN_LANG", "en")
    settings = Settings(data=Path("/given"), database_url=None)
    assert settings.data == Path("/given")
    assert settings.database_url is None  # an explicit None wins too: SQLite in the data folder
    assert settings.database() == f"sqlite:///{Path('/given/driftplan.db').resolve()}"
    assert settings.lang == "en"  # what was not given still comes from the environment


def test_load_applies_only_the_overrides_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTPLAN_DATA", "/from/env")
    monkeypatch.setenv("DRIFTPLAN_LANG", "en")
    settings = Settings.load(data=None, lang="sv")  # --data not given, --lang sv
    assert settings.data == Path("/from/env")
    assert settings.lang == "sv"


def test_publish_dir_is_the_root_when_no_root_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTPLAN_PUBLISH_DIR", "/srv/publish")
    assert Settings().publish_root == Path("/srv/publish")
    monkeypatch.setenv("DRIFTPLAN_PUBLISH_ROOT", "/srv/root")
    assert Settings().publish_root == Path("/srv/root")
    assert Settings(publish_root=Path("/given")).publish_root == Path("/given")


def test_environ_is_a_snapshot_taken_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "first")
    settings = Settings()
    monkeypatch.setenv("SMTP_PASSWORD", "later")
    assert settings.environ["SMTP_PASSWORD"] == "first"
    settings.environ["SMTP_PASSWORD"] = "changed by a caller"  # a copy each time
    assert settings.environ["SMTP_PASSWORD"] == "first"
    hidden = settings.with_environ({"ONLY": "this"})
    assert hidden.environ == {"ONLY": "this"}
    assert hidden.model_dump() == settings.model_dump()
    assert settings.environ["SMTP_PASSWORD"] == "first"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DRIFTPLAN_POLL_SECONDS", "abc"),
        ("DRIFTPLAN_SWEEP_SECONDS", ""),
        ("driftplan_poll_seconds", "x"),
    ],
)
def test_an_invalid_value_names_its_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """Validated as before: pydantic's error, naming the field and the value read."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as raised:
        Settings.load()
    (problem,) = raised.value.errors()
    assert problem["loc"] == (name.lower().removeprefix("driftplan_"),)
    assert problem["input"] == value
    assert raised.value.title == "Settings"


def test_the_command_line_names_the_invalid_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTPLAN_POLL_SECONDS", "soon")
    with pytest.raises(ValidationError) as raised:
        Settings.load()
    error = invalid_settings(raised.value)
    assert isinstance(error, ConfigurationError)
    assert str(error).startswith("DRIFTPLAN_POLL_SECONDS='soon' is not valid: ")
    assert error.text("sv").startswith("DRIFTPLAN_POLL_SECONDS='soon' är inte giltig (")


def test_a_command_with_an_invalid_variable_exits_1_with_that_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("DRIFTPLAN_")}
    env.update(DRIFTPLAN_DATA=str(tmp_path / "data"), DRIFTPLAN_SWEEP_SECONDS="often")
    script = "import sys; from engine.cli.app import main; sys.argv[0] = 'driftplan'; main()"
    done = subprocess.run(
        [sys.executable, "-c", script, "incident", "list", "--lang", "en"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: DRIFTPLAN_SWEEP_SECONDS='often' is not valid")
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # nothing was created


def test_reading_settings_imports_no_pydantic_settings() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, engine.settings as s; s.Settings.load(); "
            "print('pydantic_settings' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    assert done.stdout.strip() == "False"
