"""The admin pages over real HTTP: the directory (view, import with located errors and nothing
half-imported, export that imports back), subscribers (added with a confirmation mail to the
subscriber, removed), sign-in (password, API tokens issued and revoked), and refusals for
people who are no administrators."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from engine.domain.model import SubscriberStatus
from tests.app_helpers import OPERATOR
from tests.channel_helpers import SmtpServer
from tests.web.conftest import Live
from tests.web.page_helpers import csrf_of, sign_in

ADMIN = "karin.lindqvist"  # holds only the plan's `admin` role
BAD_DIRECTORY = """\
people:
  - {id: ny.person, name: Ny Person, email: ny@example.se, roles: [operator]}
  - {id: fel.roll, name: Fel Roll, email: fel@example.se, roles: [chef]}
lists: {}
"""


def directory_yaml(extra_person: str = "") -> str:
    """A valid directory that keeps the admin and adds `extra_person` (an id) as operator."""
    people = [f"  - {{id: {ADMIN}, name: Karin Lindqvist, email: k@example.se, roles: [admin]}}"]
    if extra_person:
        people.append(
            f"  - {{id: {extra_person}, name: Ny Operatör, email: ny@example.se, "
            'phone: "+46 70 111 11 11", roles: [operator]}'
        )
    lists = "lists:\n  support_it:\n    - {address: it@kommun.example.se, name: Kommun IT}\n"
    return "people:\n" + "\n".join(people) + "\n" + lists


def upload(
    web: httpx.Client, name: str, content: str, csv_list: str = "", page: str = "/admin"
) -> httpx.Response:
    """Post a file to the import form as a browser does (multipart, with the page's CSRF)."""
    csrf = csrf_of(web.get(page).text)
    return web.post(
        "/admin/importera",
        data={"csrf": csrf, "lista": csv_list},
        files={"fil": (name, content.encode("utf-8"), "application/octet-stream")},
    )


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def test_people_who_are_no_administrators_are_refused(live: Live) -> None:
    """An operator gets a 403 page naming the roles that may, on every admin page and post;
    nothing is imported; only an administrator sees the Administration link."""
    before = live.app.service.directory.snapshot()
    web = sign_in(live, OPERATOR)
    for path in (
        "/admin",
        "/admin/prenumeranter",
        "/admin/anvandare",
        f"/admin/anvandare/{ADMIN}",
        "/admin/katalog.yaml",
        "/admin/listor/support_it.csv",
    ):
        answer = web.get(path)
        assert answer.status_code == 403, path
        assert "får inte" in answer.text and "Tillåtna roller: admin" in answer.text, path
    csrf = csrf_of(web.get("/").text)
    posted = web.post(
        "/admin/importera",
        data={"csrf": csrf},
        files={"fil": ("katalog.yaml", directory_yaml().encode(), "application/yaml")},
    )
    assert posted.status_code == 403
    token = web.post(f"/admin/anvandare/{OPERATOR}/nycklar", data={"csrf": csrf})
    assert token.status_code == 403 and "dp_" not in token.text
    assert live.app.service.directory.snapshot() == before
    assert 'href="/admin"' not in web.get("/").text
    assert 'href="/admin"' in sign_in(live, "erik.johansson").get("/").text


def test_an_import_with_an_error_shows_where_and_changes_nothing(live: Live) -> None:
    """A directory with an unknown role answers 422 with the CLI's `file:line: problem`, and
    the stored directory stays exactly as it was (the valid person is not added either)."""
    before = live.app.service.directory.snapshot()
    web = sign_in(live, ADMIN)
    answer = upload(web, "katalog.yaml", BAD_DIRECTORY)
    assert answer.status_code == 422
    text = html.unescape(answer.text)
    assert "Filen importerades inte" in text
    assert "katalog.yaml:3: unknown role 'chef' of person 'fel.roll'" in text
    assert live.app.service.directory.snapshot() == before
    csv_without_list = upload(web, "lista.csv", "email,name\na@example.se,A\n")
    assert csv_without_list.status_code == 422
    assert "lista.csv:1: a CSV file is one contact list" in html.unescape(csv_without_list.text)
    bad_csv = upload(web, "lista.csv", "email,name\ninte-en-adress,A\n", "support_it")
    assert bad_csv.status_code == 422
    assert "lista.csv:2: invalid e-mail address 'inte-en-adress'" in html.unescape(bad_csv.text)
    assert live.app.service.directory.snapshot() == before


def test_a_good_import_replaces_the_directory_and_a_csv_replaces_one_list(live: Live) -> None:
    """A valid YAML upload replaces people and lists and the page shows them; a CSV upload
    replaces only the named list."""
    web = sign_in(live, ADMIN)
    done = upload(web, "katalog.yaml", directory_yaml("ny.operator"))
    assert done.status_code == 303 and done.headers["location"] == "/admin?klart=importerad"
    page = web.get(done.headers["location"]).text
    assert "Katalogen är importerad." in page
    for shown in ("ny.operator", "+46 70 111 11 11", "Operatör", "support_it", "Fyrbodal"):
        assert shown in page, shown
    snapshot = live.app.service.directory.snapshot()
    assert [p["id"] for p in snapshot["people"]] == [ADMIN, "ny.operator"]
    done = upload(
        web, "it.csv", "e-post;namn\nett@example.se;Ett\ntva@example.se;Två\n", "support_it"
    )
    assert done.status_code == 303
    lists = live.app.service.directory.snapshot()["lists"]
    assert [m["address"] for m in lists["support_it"]] == ["ett@example.se", "tva@example.se"]
    assert [p["id"] for p in live.app.service.directory.snapshot()["people"]] == [
        ADMIN,
        "ny.operator",
    ]


def test_the_export_imports_back_to_the_same_directory(live: Live) -> None:
    """The YAML export of the example directory imports back unchanged, and a list's CSV
    export imported as that list changes nothing either."""
    before = live.app.service.directory.snapshot()
    web = sign_in(live, ADMIN)
    exported = web.get("/admin/katalog.yaml")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == 'attachment; filename="katalog.yaml"'
    assert upload(web, "katalog.yaml", exported.text).status_code == 303
    assert live.app.service.directory.snapshot() == before
    listed = web.get("/admin/listor/involved_parties.csv")
    assert listed.status_code == 200 and listed.text.startswith("email,name\n")
    assert upload(web, "ip.csv", listed.text, "involved_parties").status_code == 303
    after = live.app.service.directory.snapshot()
    assert [m["address"] for m in after["lists"]["involved_parties"]] == [
        m["address"] for m in before["lists"]["involved_parties"]
    ]


def test_adding_a_subscriber_mails_the_confirmation_to_the_subscriber(
    live: Live, smtp: SmtpServer
) -> None:
    """The added subscriber is pending, the confirmation link goes by mail to their own
    address (not to the administrator), and removing them ends the subscription."""
    live.app.dispatcher.environ.update(
        {
            "DRIFTPLAN_SMTP_HOST": "127.0.0.1",
            "DRIFTPLAN_SMTP_PORT": str(smtp.port),
            "DRIFTPLAN_SMTP_SECURITY": "none",
            "DRIFTPLAN_MAIL_FROM": "drift@samsa.example.se",
        }
    )
    web = sign_in(live, ADMIN)
    csrf = csrf_of(web.get("/admin/prenumeranter").text)
    added = web.post(
        "/admin/prenumeranter",
        data={"csrf": csrf, "mottagare": "subscribers", "epost": "Lisa@Example.se", "namn": "Lisa"},
    )
    assert added.status_code == 303, added.text
    page = web.get(added.headers["location"]).text
    assert "bekräftelsemejl har skickats" in page and "lisa@example.se" in page
    assert "väntar på bekräftelse" in page
    [stored] = live.app.service.subscriptions.list()
    assert stored.status == SubscriberStatus.PENDING
    [mail] = smtp.received
    assert mail.rcpt_tos == ["lisa@example.se"]
    body = mail.message.get_body(("plain",))
    assert body is not None
    assert f"/subscribe/confirm/{stored.token}" in body.get_content()
    assert stored.token not in page  # the link is the subscriber's alone

    bad = web.post(
        "/admin/prenumeranter",
        data={"csrf": csrf, "mottagare": "subscribers", "epost": "inte en adress"},
    )
    assert bad.status_code == 422 and "är ingen e-postadress" in html.unescape(bad.text)
    removed = web.post(f"/admin/prenumeranter/{stored.id}/ta-bort", data={"csrf": csrf})
    assert removed.status_code == 303
    assert "Prenumerationen är avslutad." in web.get(removed.headers["location"]).text
    [ended] = live.app.service.subscriptions.list()
    assert ended.status == SubscriberStatus.UNSUBSCRIBED


def test_a_token_issued_on_the_page_works_until_it_is_revoked(live: Live) -> None:
    """The new token's secret is shown once and opens the API; revoked on the page, the API
    answers 401. A short password is refused with the service's rule; a good one signs in."""
    web = sign_in(live, ADMIN)
    path = f"/admin/anvandare/{OPERATOR}"
    csrf = csrf_of(web.get(path).text)
    made = web.post(f"{path}/nycklar", data={"csrf": csrf, "namn": "larm"})
    assert made.status_code == 200
    secret = re.search(r'value="(dp_[^"]+)"', made.text)
    assert secret, made.text
    api = httpx.Client(
        base_url=live.url, headers={"Authorization": f"Bearer {secret.group(1)}"}, timeout=30
    )
    live.clients.append(api)
    assert api.get("/api/v1/incidents").status_code == 200
    listed = web.get(path).text
    assert secret.group(1) not in listed and "larm" in listed
    token_id = re.search(r"/nycklar/([0-9a-f]+)/aterkalla", listed)
    assert token_id
    revoked = web.post(f"{path}/nycklar/{token_id.group(1)}/aterkalla", data={"csrf": csrf})
    assert revoked.status_code == 303
    assert "Nyckeln är återkallad." in web.get(revoked.headers["location"]).text
    assert api.get("/api/v1/incidents").status_code == 401

    short = web.post(f"{path}/losenord", data={"csrf": csrf, "losenord": "kort"})
    assert short.status_code == 422 and "för kort" in short.text
    good = web.post(f"{path}/losenord", data={"csrf": csrf, "losenord": "ett långt nytt lösen"})
    assert good.status_code == 303
    live.app.service.accounts.sign_in(OPERATOR, "ett långt nytt lösen")  # raises if refused
    forged = web.post(f"{path}/losenord", data={"losenord": "ett annat långt lösen"})
    assert forged.status_code == 403
