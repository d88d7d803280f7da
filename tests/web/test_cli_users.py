"""`driftplan users ...` through the command line (Typer's CliRunner) on a temporary data
folder: passwords from standard input, API tokens shown once and usable against the served
API, listed without their secrets, and revoked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from engine.bootstrap import build
from engine.cli.app import app as cli
from engine.errors import NotAuthenticated
from engine.settings import Settings
from tests.app_helpers import EXAMPLE_DIRECTORY, OPERATOR, WORKFLOWS
from tests.web.conftest import PASSWORD, serve

API = "/api/v1"


@dataclass
class Cli:
    """The command line on one data folder."""

    data: Path
    runner: CliRunner
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str | None = None) -> Result:
        return self.runner.invoke(cli, list(args), env=self.env, input=stdin)

    def ok(self, *args: str, stdin: str | None = None) -> Result:
        result = self(*args, stdin=stdin)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result

    def signs_in(self, person: str, password: str) -> bool:
        """Whether `person` can sign in to the web service with `password`."""
        application = build(Settings(data=self.data, workflows=WORKFLOWS))
        try:
            application.service.accounts.sign_in(person, password)
        except NotAuthenticated:
            return False
        finally:
            application.close()
        return True


@pytest.fixture
def driftplan(tmp_path: Path) -> Iterator[Cli]:
    """The CLI on an empty data folder with the example directory imported (English)."""
    data = tmp_path / "data"
    env = {
        "DRIFTPLAN_DATA": str(data),
        "DRIFTPLAN_WORKFLOWS": str(WORKFLOWS),
        "DRIFTPLAN_DATABASE_URL": "",
        "DRIFTPLAN_LANG": "en",
        "COLUMNS": "200",
    }
    commands = Cli(data, CliRunner(), env)
    commands.ok("directory", "import", str(EXAMPLE_DIRECTORY))
    yield commands


def test_set_password_reads_standard_input(driftplan: Cli) -> None:
    """`set-password --password-stdin` sets the password the web sign-in then accepts, and
    replaces an earlier one."""
    done = driftplan.ok(
        "users", "set-password", OPERATOR, "--password-stdin", stdin="först ett lösen\n"
    )
    assert f"Password set for {OPERATOR}." in done.stdout
    assert "först" not in done.stdout + done.stderr
    driftplan.ok("users", "set-password", OPERATOR, "--password-stdin", stdin=PASSWORD + "\n")
    assert driftplan.signs_in(OPERATOR, PASSWORD)
    assert not driftplan.signs_in(OPERATOR, "först ett lösen")


def test_a_too_short_password_is_refused(driftplan: Cli) -> None:
    """A password under 12 characters exits 1 saying so on stderr, and sets nothing."""
    refused = driftplan("users", "set-password", OPERATOR, "--password-stdin", stdin="kort\n")
    assert refused.exit_code == 1
    assert "too short" in refused.stderr and "12 characters" in refused.stderr
    assert refused.stdout == ""
    assert not driftplan.signs_in(OPERATOR, "kort")


def test_a_password_for_someone_not_in_the_directory_is_refused(driftplan: Cli) -> None:
    """Only directory people get accounts: an unknown id exits 1 naming it."""
    refused = driftplan(
        "users", "set-password", "nobody.here", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert refused.exit_code == 1
    assert "nobody.here" in refused.stderr


def test_a_token_is_printed_once_listed_without_its_secret_and_revoked(
    driftplan: Cli, tmp_path: Path
) -> None:
    """`users token` prints a new secret once, which the served API accepts; `users tokens`
    lists it without the secret; `--revoke` ends it (the API then answers 401) and a second
    revoke exits 1."""
    made = json.loads(driftplan.ok("users", "token", OPERATOR, "--name", "jour", "--json").stdout)
    assert set(made) == {"id", "name", "token"}
    assert made["name"] == "jour" and made["token"].startswith("dp_")
    text = driftplan.ok("users", "token", OPERATOR).stdout
    [second_secret] = [w for w in text.split() if w.startswith("dp_")]
    assert "shown only now" in text
    assert second_secret != made["token"]

    listed = driftplan.ok("users", "tokens", OPERATOR).stdout
    assert made["id"] in listed and "jour" in listed and "active" in listed
    as_json = driftplan.ok("users", "tokens", OPERATOR, "--json").stdout
    for output in (listed, as_json):
        assert made["token"] not in output and second_secret not in output
        # dp_<id>_<secret>: the secret itself may contain "_" (URL-safe base64).
        assert made["token"].split("_", 2)[2] not in output
    tokens = json.loads(as_json)
    assert len(tokens) == 2
    assert all(set(t) == {"id", "name", "created_at", "revoked_at"} for t in tokens)
    assert all(t["revoked_at"] is None for t in tokens)

    database = f"sqlite:///{driftplan.data / 'driftplan.db'}"
    for live in serve(tmp_path, database):
        api = live.client()
        headers = {"Authorization": f"Bearer {made['token']}"}
        assert api.get(f"{API}/incidents", headers=headers).status_code == 200

        revoked = driftplan.ok("users", "tokens", OPERATOR, "--revoke", made["id"])
        assert f"Token {made['id']} is revoked." in revoked.stdout
        assert api.get(f"{API}/incidents", headers=headers).status_code == 401
        other = {"Authorization": f"Bearer {second_secret}"}
        assert api.get(f"{API}/incidents", headers=other).status_code == 200

    again = driftplan("users", "tokens", OPERATOR, "--revoke", made["id"])
    assert again.exit_code == 1
    assert made["id"] in again.stderr and "no active token" in again.stderr
    after = json.loads(driftplan.ok("users", "tokens", OPERATOR, "--json").stdout)
    assert {t["id"]: t["revoked_at"] is not None for t in after}[made["id"]] is True
    assert "revoked" in driftplan.ok("users", "tokens", OPERATOR).stdout


def test_one_person_cannot_revoke_anothers_token(driftplan: Cli) -> None:
    """`--revoke` names a token of the given person only: another person's token id exits 1
    and stays active."""
    made = json.loads(driftplan.ok("users", "token", OPERATOR, "--json").stdout)
    refused = driftplan("users", "tokens", "erik.johansson", "--revoke", made["id"])
    assert refused.exit_code == 1
    [token] = json.loads(driftplan.ok("users", "tokens", OPERATOR, "--json").stdout)
    assert token["revoked_at"] is None


def test_a_person_without_tokens_is_told_so(driftplan: Cli) -> None:
    """Listing the tokens of someone who has none says so instead of printing nothing."""
    assert "eva.holm has no API tokens." in driftplan.ok("users", "tokens", "eva.holm").stdout
    assert json.loads(driftplan.ok("users", "tokens", "eva.holm", "--json").stdout) == []
