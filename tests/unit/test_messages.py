"""Message rendering: the SAMSA templates render safely and never without the grundmall."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2.exceptions import SecurityError

from engine.definition.definition import Definition
from engine.definition.loader import parse_definition
from engine.errors import MessageError
from engine.service.messages import MAX_SUBJECT, build_context, render_message

PLAN = Path(__file__).resolve().parents[2] / "workflows" / "samsa_outage.yaml"
NOW = datetime(2022, 6, 28, 13, 0, tzinfo=UTC)
FULL_DATA: dict[str, Any] = {
    "started_at": "2022-06-28T12:30:00+00:00",  # 14.30 in Stockholm (CEST)
    "scope": "Användare i Fyrbodal och Skaraborg kan inte logga in",
    "affected_subregions": ["fyrbodal", "skaraborg"],
    "expected_resolution": "2022-06-28T15:00:00+00:00",
    "details": "Felsökning pågår hos leverantören.",
    "total_it_breakdown": False,
    "reserve_subregions": ["fyrbodal"],
    "resolved_at": "2022-06-28T16:15:00+00:00",
    "feedback_summary": "Reservrutinen fungerade.",
    "evaluation_summary": "Informationen nådde ut inom 20 minuter.",
    "lessons_learned": "Uppdatera kontaktlistan för Skaraborg.",
    "withdrawal_reason": "Anmäld av misstag under en övning.",
}
APPROVAL = {
    "id": "apr-1",
    "title": "Övergång till reservrutin i alla verksamheter",
    "approvers": ["Margareta Lund", "Olof Strand"],
    "requested_by": "Anna Andersson",
    "requested_at": datetime(2022, 6, 28, 12, 45, tzinfo=UTC),
    "expires_at": datetime(2022, 6, 28, 16, 45, tzinfo=UTC),
    "subregions": ["fyrbodal", "sodra_alvsborg"],
    "url": "https://driftplan.example.se/approvals/apr-1",
}


def _files() -> dict[str, str]:
    files = {}
    for language in ("sv", "en"):
        for path in (PLAN.parent / "templates" / language).glob("*.txt"):
            files[f"templates/{language}/{path.name}"] = path.read_text(encoding="utf-8")
    return files


def plan(**replaced: str) -> Definition:
    """The SAMSA plan, with some template files' text replaced (keyword: sv__outage_notice)."""
    files = _files()
    for key, text in replaced.items():
        language, name = key.split("__")
        files[f"templates/{language}/{name}.txt"] = text
    return parse_definition(PLAN.read_bytes(), str(PLAN), files=files, check=False)


@pytest.fixture(scope="module")
def samsa() -> Definition:
    return parse_definition(PLAN.read_bytes(), str(PLAN), base=PLAN.parent, check=False)


def render(
    definition: Definition,
    template: str = "outage_notice",
    *,
    language: str = "sv",
    data: dict[str, Any] | None = None,
    state: str = "outage",
    **kwargs: Any,
) -> Any:
    context = build_context(
        definition,
        incident_id="INC-1",
        state=state,
        data=FULL_DATA if data is None else data,
        language=language,
        now=NOW,
        **kwargs,
    )
    return render_message(definition, template, language=language, context=context)


def with_data(**changes: Any) -> dict[str, Any]:
    data = dict(FULL_DATA)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.mark.parametrize("language", ["sv", "en"])
def test_every_samsa_template_renders_with_a_full_context(samsa: Definition, language: str) -> None:
    """Every template of the SAMSA plan renders in both languages, with its required content."""
    assert len(samsa.workflow.templates) >= 18
    for name, spec in samsa.workflow.templates.items():
        message = render(samsa, name, language=language, approval=APPROVAL)
        assert message.language == language
        assert message.subject and "\n" not in message.subject, name
        assert "{{" not in message.body_text and "{%" not in message.body_text, name
        assert set(message.required) == set(spec.requires), name
        for text in message.required.values():
            assert " ".join(text.split()) in " ".join(message.body_text.split()), (name, text)


def test_outage_notice_carries_the_grundmall_in_swedish(samsa: Definition) -> None:
    """The Swedish outage notice has the description, start, scope, resolution and mailbox."""
    body = render(samsa).body_text
    assert "dygnet runt" in body
    assert "Störningen startade: 28 juni 2022 kl. 14.30" in body
    assert "Omfattning: Användare i Fyrbodal och Skaraborg kan inte logga in" in body
    assert "Beräknas vara löst: 28 juni 2022 kl. 17.00" in body
    assert "Berörda delregioner: Fyrbodal och Skaraborg" in body
    assert "info.samsa@vgregion.se" in body
    assert "Felsökning pågår hos leverantören." in body


def test_outage_notice_in_english_uses_english_text_and_times(samsa: Definition) -> None:
    """The English notice uses the English description and English time format."""
    message = render(samsa, language="en")
    assert "around the clock" in message.body_text
    assert "The disturbance started: 28 June 2022 at 14:30" in message.body_text
    assert message.subject.startswith("Disturbance in SAMSA")


def test_missing_scope_is_refused_naming_the_field(samsa: Definition) -> None:
    """Without a scope the notice is refused, naming the field, its title and how to set it."""
    with pytest.raises(MessageError) as caught:
        render(samsa, data=with_data(scope=None))
    text = str(caught.value)
    assert "outage_notice" in text
    assert "scope (Omfattning)" in text
    assert "--set scope=..." in text


def test_every_missing_item_is_listed_at_once(samsa: Definition) -> None:
    """All missing grundmall items are named in one error, and blank text counts as missing."""
    with pytest.raises(MessageError) as caught:
        render(samsa, data=with_data(scope="   ", started_at=None, expected_resolution=None))
    text = str(caught.value)
    for name in ("scope", "started_at", "expected_resolution"):
        assert f"--set {name}=..." in text


def test_unknown_expected_resolution_renders_okand(samsa: Definition) -> None:
    """An unknown expected resolution is allowed and reads "okänd" / "unknown"."""
    data = with_data(expected_resolution="unknown")
    assert "Beräknas vara löst: okänd" in render(samsa, data=data).body_text
    english = render(samsa, language="en", data=data).body_text
    assert "Expected to be resolved: unknown" in english


@pytest.mark.parametrize(
    "typed", ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "<script>alert(1)</script>"]
)
def test_operator_text_is_data_not_template_or_markup(samsa: Definition, typed: str) -> None:
    """Operator text appears literally in the text body and escaped in the HTML body."""
    message = render(samsa, data=with_data(scope=f"Inloggning {typed}", details=typed))
    assert f"Omfattning: Inloggning {typed}" in message.body_text
    assert "49" not in message.body_text and "xxx" not in message.body_text
    assert html.escape(f"Omfattning: Inloggning {typed}") in message.body_html
    assert "<script>" not in message.body_html


def test_html_body_has_paragraphs_and_line_breaks_without_links(samsa: Definition) -> None:
    """The HTML body turns blank lines into paragraphs, newlines into <br> and links nothing."""
    data = with_data(details="Se https://www.gitsvg.se\nför mer.\n\nNy paragraf & slut")
    body_html = render(samsa, data=data).body_html
    assert "<p>Se https://www.gitsvg.se<br>\nför mer.</p>" in body_html
    assert "<p>Ny paragraf &amp; slut</p>" in body_html
    assert "<a " not in body_html


def test_sandbox_escape_in_a_plan_template_is_a_message_error(samsa: Definition) -> None:
    """A plan template reaching for Python internals is refused as a MessageError, not a crash."""
    evil = plan(sv__outage_notice="Subject: x\n{{ ''.__class__.__mro__ }} {{ scope }}\n")
    with pytest.raises(MessageError) as caught:
        render(evil)
    assert isinstance(caught.value.__cause__, SecurityError)
    assert "sandbox" in str(caught.value)


@pytest.mark.parametrize("bomb", ["{{ 'x' * 100000000 }}", "{{ 7 ** 100000 }}"])
def test_template_building_a_huge_value_is_refused(bomb: str) -> None:
    """A template cannot multiply a string or raise a power into a memory or CPU bomb."""
    evil = plan(sv__outage_notice=f"Subject: x\n{bomb}\n")
    with pytest.raises(MessageError, match="sandbox"):
        render(evil)


def test_template_printing_an_undefined_name_is_refused() -> None:
    """A typo such as {{ scop }} is an error rather than silently printing nothing."""
    typo = plan(sv__outage_notice="Subject: x\n{{ scop }}\n")
    with pytest.raises(MessageError, match="scop"):
        render(typo)


def test_template_that_does_not_print_a_required_value_is_refused() -> None:
    """The rendered output itself must show each required value, not just the context."""
    silent = plan(sv__outage_notice="Subject: x\n{{ service.description }} {{ started_at }}\n")
    with pytest.raises(MessageError, match="scope, expected_resolution"):
        render(silent)


def test_compiled_templates_are_cached_per_plan_version(samsa: Definition) -> None:
    """Two plan versions with different template text never share a compiled template."""
    changed = plan(
        sv__outage_notice="Subject: Ny version\n{{ service.description }} "
        "{{ started_at }} {{ scope }} {{ expected_resolution }}\n"
    )
    assert changed.sha256 != samsa.sha256
    assert render(samsa).subject.startswith("Driftstörning i SAMSA")
    assert render(changed).subject == "Ny version"
    assert render(samsa).subject.startswith("Driftstörning i SAMSA")


def test_subject_is_one_line_and_capped(samsa: Definition) -> None:
    """CR/LF in operator text collapse to spaces in the subject, which is at most 250 chars."""
    message = render(samsa, data=with_data(scope="Rad ett\r\nBcc: evil@example.org\nrad tre"))
    assert message.subject == "Driftstörning i SAMSA – Rad ett Bcc: evil@example.org rad tre"
    long = render(samsa, data=with_data(scope="å" * 400)).subject
    assert len(long) == MAX_SUBJECT and long.endswith("…")


@pytest.mark.parametrize(
    ("language", "subject", "line"),
    [
        ("sv", "ÖVNING: ", "ÖVNING – detta är en övning, inte en verklig driftstörning."),
        ("en", "EXERCISE: ", "EXERCISE – this is a drill, not a real outage."),
    ],
)
def test_exercise_prefixes_subject_and_body(
    samsa: Definition, language: str, subject: str, line: str
) -> None:
    """In an exercise the subject and the body's first line say it is a drill."""
    message = render(samsa, language=language, exercise=True)
    assert message.subject.startswith(subject)
    assert message.body_text.splitlines()[0] == line
    assert message.body_html.startswith(f"<p>{line}</p>")
    assert not render(samsa, language=language).subject.startswith(subject)


def test_bool_field_tests_its_value_not_its_display_word(samsa: Definition) -> None:
    """`{% if total_it_breakdown %}` is false for "nej" and true for "ja"."""
    calm = render(samsa, "crisis_alert", data=with_data(total_it_breakdown=False)).body_text
    assert "totalt IT-haveri" not in calm
    alarm = render(samsa, "crisis_alert", data=with_data(total_it_breakdown=True)).body_text
    assert "(totalt IT-haveri)" in alarm


def test_context_shows_titles_times_and_approval(samsa: Definition) -> None:
    """The context holds display text: state title, sub-region titles and formatted times."""
    context = build_context(
        samsa,
        incident_id="INC-7",
        state="partial_reserve",
        data=with_data(details=None),
        language="sv",
        now=NOW,
        approval=APPROVAL,
        extra={"incident_url": "https://x/INC-7"},
    )
    values = context.values
    assert values["details"] == ""
    assert values["reserve_subregions"] == "Fyrbodal"
    assert values["incident"] == {
        "id": "INC-7",
        "state": "partial_reserve",
        "state_title": "Reservrutin i delar av verksamheterna",
        "url": "https://x/INC-7",
    }
    assert values["approval"]["approvers"] == "Margareta Lund och Olof Strand"
    assert values["approval"]["subregions"] == "Fyrbodal och Södra Älvsborg"
    assert values["approval"]["expires_at"] == "28 juni 2022 kl. 18.45"
    assert values["now"] == "28 juni 2022 kl. 15.00"
    assert values["service"]["inbound_mailbox"] == "info.samsa@vgregion.se"


def test_approval_request_without_link_shows_the_cli_command(samsa: Definition) -> None:
    """Without an approval URL the request tells the approver the CLI command instead."""
    body = render(samsa, "approval_request", approval={**APPROVAL, "url": None}).body_text
    assert "driftplan incident approve apr-1" in body
    assert "för Fyrbodal och Södra Älvsborg" in body


def test_extra_names_cannot_shadow_plan_fields(samsa: Definition) -> None:
    """A caller cannot replace required content through `extra`."""
    with pytest.raises(ValueError, match="scope"):
        build_context(
            samsa,
            incident_id="I",
            state="outage",
            data=FULL_DATA,
            language="sv",
            now=NOW,
            extra={"scope": "något annat"},
        )


def test_unknown_template_lists_the_known_ones(samsa: Definition) -> None:
    """Asking for a template the plan lacks names the templates it has."""
    with pytest.raises(MessageError, match="Known templates: approval_expired, approval_overdue"):
        render(samsa, "outage_notise")
