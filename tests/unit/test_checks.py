"""The whole-plan checker: each broken plan is refused with a located, explanatory error."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.definition.checks.workflow import check_workflow
from engine.errors import DefinitionError, Problem
from tests.plan_fixtures import KNOWN_KINDS, VALID_PLAN, broken, line_of, parse


@dataclass(frozen=True)
class Case:
    """One broken plan: the edits that break it, the error expected, and where it must point."""

    name: str
    edits: tuple[tuple[str, str], ...]
    message: str  # a fragment of the expected error's message
    at: str  # a snippet of the broken text; the error must point at its line
    occurrence: int = 1

    def text(self) -> str:
        text = VALID_PLAN
        for old, new in self.edits:
            text = broken(old, new, text)
        return text


def edit(old: str, new: str) -> tuple[tuple[str, str], ...]:
    return ((old, new),)


ADD_TRANSITION = "rules:\n"  # new transitions are appended after the last one


def add_transition(line: str) -> tuple[str, str]:
    return (ADD_TRANSITION, f"  - {line}\nrules:\n")


def add_state(line: str) -> tuple[str, str]:
    return ("  closed:\n", f"  {line}\n  closed:\n")


CASES = [
    Case(
        "inbound reports on an unknown channel",
        edit("rules:\n", "inbound_reports: {channels: [pager]}\nrules:\n"),
        "unknown channel 'pager' in inbound_reports.channels",
        "inbound_reports: {channels: [pager]}",
    ),
    Case(
        "dangling dest",
        edit("    dest: reserve\n", "    dest: reserv\n"),
        "unknown state 'reserv' in transitions[1].dest. Known states: closed, outage, reserve",
        "dest: reserv",
    ),
    Case(
        "dangling source",
        edit("    source: outage\n", "    source: outge\n"),
        "unknown state 'outge' in transitions[1].source. Known states: closed, outage, reserve",
        "source: outge",
    ),
    Case(
        "duplicate state",
        (add_state("outage: {title: Igen}"),),
        f"YAML: duplicate key 'outage' (first defined on line {line_of(VALID_PLAN, '  outage:')})",
        "  outage: {title: Igen}",
    ),
    Case(
        "ambiguous trigger",
        (add_transition("{trigger: resolve, source: reserve, dest: closed}"),),
        "trigger 'resolve' is ambiguous in reserve: transitions[4] and transitions[5] both apply",
        "{trigger: resolve, source: reserve",
    ),
    Case(
        "unreachable state",
        (
            add_state("limbo: {title: Limbo}"),
            add_transition("{trigger: leave_limbo, source: limbo, dest: closed}"),
        ),
        "state 'limbo' is unreachable",
        "  limbo:",
    ),
    Case(
        "state without a way out",
        edit(
            "    source: [outage, reserve]\n    dest: closed",
            "    source: outage\n    dest: closed",
        ),
        "state 'reserve' is not final but no transition leaves it",
        "  reserve:",
    ),
    Case(
        "no path to a final state",
        (
            add_state("trap_a: {title: A}"),
            add_state("trap_b: {title: B}"),
            add_transition("{trigger: trap, source: outage, dest: trap_a}"),
            add_transition("{trigger: flip, source: trap_a, dest: trap_b}"),
            add_transition("{trigger: flop, source: trap_b, dest: trap_a}"),
        ),
        "state 'trap_a' has no path to a final state (closed)",
        "  trap_a:",
    ),
    Case(
        "final state with an outgoing transition",
        (add_transition("{trigger: reopen, source: closed, dest: outage}"),),
        "'reopen' leaves final state 'closed'",
        "{trigger: reopen",
    ),
    Case(
        "no initial transition",
        edit("    initial: true\n    dest: outage", "    source: reserve\n    dest: outage"),
        "no transition creates an incident: mark one `initial: true`",
        "transitions:",
    ),
    Case(
        "unknown role in allowed",
        edit("allowed: [operator]\n    requires", "allowed: [operatr]\n    requires"),
        "unknown role 'operatr' in transitions[0].allowed. "
        "Known roles: chair, decider, operator, vice_chair",
        "allowed: [operatr]",
    ),
    Case(
        "unknown role in a gate",
        edit("any_of: [decider]", "any_of: [decidr]"),
        "unknown role 'decidr' in transitions[1].gate.any_of",
        "any_of: [decidr]",
    ),
    Case(
        "unknown role in an audience",
        edit("roles: [chair, vice_chair]", "roles: [chair, vice_chiar]"),
        "unknown role 'vice_chiar' in audiences.council.roles",
        "vice_chiar",
    ),
    Case(
        "unknown role in a notify",
        edit("roles: [chair], channels", "roles: [chiar], channels"),
        "unknown role 'chiar' in transitions[3].actions[0].notify.roles",
        "roles: [chiar]",
    ),
    Case(
        "unknown responsible role",
        edit("responsible: [decider]", "responsible: [decidr]"),
        "unknown role 'decidr' in states.reserve.responsible",
        "responsible: [decidr]",
    ),
    Case(
        "unknown deputy_of role",
        edit("deputy_of: chair}", "deputy_of: chairman}"),
        "unknown role 'chairman' in roles.vice_chair.deputy_of",
        "deputy_of: chairman",
    ),
    Case(
        "deputy cycle",
        edit("chair: {title: Ordförande}", "chair: {title: Ordförande, deputy_of: vice_chair}"),
        "deputy cycle: chair -> vice_chair -> chair",
        "deputy_of: vice_chair",
    ),
    Case(
        "deputy of itself",
        edit("operator: {title: Operatör}", "operator: {title: Operatör, deputy_of: operator}"),
        "deputy cycle: operator -> operator",
        "deputy_of: operator",
    ),
    Case(
        "unknown audience",
        edit("audience: council, channels", "audience: councl, channels"),
        "unknown audience 'councl' in states.reserve.on_enter[0].notify.audience. "
        "Known audiences: council, users",
        "audience: councl",
    ),
    Case(
        "unknown channel",
        edit("channels: [banner, mail]}\n    timers", "channels: [banner, smss]}\n    timers"),
        "unknown channel 'smss' in states.outage.on_enter[0].notify.channels. "
        "Known channels: banner, mail",
        "[banner, smss]",
    ),
    Case(
        "unknown channel kind",
        edit("{kind: banner, audience: users}", "{kind: banners, audience: users}"),
        "unknown channel kind 'banners' for channel 'banner'. "
        "Known kinds: banner, calendar, email, news, newsletter, webhook",
        "kind: banners",
    ),
    Case(
        "unknown template",
        edit("{template: resolved, channels", "{template: resolvd, channels"),
        "unknown template 'resolvd' in states.closed.on_enter[0].notify.template",
        "template: resolvd",
    ),
    Case(
        "unknown field in requires",
        edit(
            "requires: [started_at, scope, expected_resolution]\n  - trigger: escalate",
            "requires: [started_at, scop, expected_resolution]\n  - trigger: escalate",
        ),
        "unknown field 'scop' in transitions[0].requires",
        "[started_at, scop,",
    ),
    Case(
        "unknown field in a template's requires",
        edit("requires: [scope]\n  resolved", "requires: [scopes]\n  resolved"),
        "unknown field 'scopes' in templates.escalated.requires",
        "requires: [scopes]",
    ),
    Case(
        "unknown service attribute in a template's requires",
        edit("requires: [service.description,", "requires: [service.url,"),
        "unknown service attribute 'service.url' in templates.started.requires. "
        "Known: service.name, service.description, service.inbound_mailbox",
        "requires: [service.url,",
    ),
    Case(
        "unknown trigger fired by a timer",
        edit("fire: resolve}", "fire: resolv}"),
        "unknown trigger 'resolv' in states.reserve.timers[0].fire",
        "fire: resolv}",
    ),
    Case(
        "timer fires a trigger that does not start in its state",
        edit("fire: resolve}", "fire: escalate}"),
        "fires 'escalate', but no 'escalate' transition starts in state 'reserve'",
        "fire: escalate}",
    ),
    Case(
        "unknown trigger fired by a rule",
        edit("fire: alert_council\n", "fire: alert_councel\n"),
        "unknown trigger 'alert_councel' in rules[0].fire",
        "fire: alert_councel",
    ),
    Case(
        "unknown trigger in reset_on",
        edit("reset_on: [post_update]", "reset_on: [post_updat]"),
        "unknown trigger 'post_updat' in states.outage.timers[0].reset_on",
        "reset_on: [post_updat]",
    ),
    Case(
        "gate without an approver",
        edit("      any_of: [decider]\n", ""),
        "the gate of 'escalate' has no approver: give `any_of` or `all_of` roles",
        "    gate:",
    ),
    Case(
        "gate scope field not over the sub-regions",
        edit("scope: {field: affected}", "scope: {field: severity}"),
        "gate scope field 'severity' must be a choice or multichoice field with "
        "`choices_from: subregions`",
        "scope: {field: severity}",
    ),
    Case(
        "gate scope without a sub-regional approver",
        edit("any_of: [decider]", "any_of: [chair]"),
        "the gate of 'escalate' is scoped to sub-regions, but none of its approver roles "
        "(chair) has `scope: subregion`",
        "scope: {field: affected}",
    ),
    Case(
        "bad duration",
        edit("every: 60m", "every: 60 minutes"),
        "expected a duration such as 90s, 15m, 2h, 7d or ISO 8601 like PT15M, got '60 minutes'",
        "every: 60 minutes",
    ),
    Case(
        "append on a field that is not multichoice",
        edit("append: [affected]", "append: [severity]"),
        "`append` adds items to a list, but field 'severity' is a choice field",
        "append: [severity]",
    ),
    Case(
        "min_items on a field that is not multichoice",
        edit("{field: affected, min_items: 2}", "{field: severity, min_items: 2}"),
        "min_items needs a multichoice field, but it is a choice field",
        "{field: severity, min_items: 2}",
    ),
    Case(
        "before on a field that is not a datetime",
        edit("{field: broken_everywhere, equals: true}", "{field: scope, before: now}"),
        "before needs a datetime field, but it is a text field",
        "{field: scope, before: now}",
    ),
    Case(
        "equals with a value that is not a choice",
        edit("{field: severity, equals: high}", "{field: severity, equals: critical}"),
        "condition on 'severity' in transitions[1].conditions: "
        "'critical' is not one of its choices: low, high",
        "equals: critical",
    ),
    Case(
        "equals with yes on a bool field (yes stays a string)",
        edit("equals: true}", "equals: yes}"),
        "'yes' is not true or false",
        "equals: yes",
    ),
    Case(
        "unknown field in a condition",
        edit("{field: severity, equals: high}", "{field: severty, equals: high}"),
        "unknown field 'severty' in transitions[1].conditions.field",
        "field: severty",
    ),
    Case(
        "unknown flag in a condition",
        edit("not: {flag: alerted}", "not: {flag: alertd}"),
        "unknown flag 'alertd' in rules[0].when.all[0].not: no transition sets it. "
        "Known flags: alerted",
        "flag: alertd",
    ),
    Case(
        "literal secret in channel settings",
        edit('api_token: "${MAIL_TOKEN}"', "api_token: hunter2"),
        "channels.mail.settings.api_token looks like a secret: give it as an environment "
        "reference such as ${MAIL_API_TOKEN}, never as a literal",
        "api_token: hunter2",
    ),
    Case(
        "malformed environment reference",
        edit('host: "${MAIL_HOST}"', 'host: "${MAIL HOST}"'),
        "malformed reference in channels.mail.settings.host",
        "${MAIL HOST}",
    ),
    Case(
        "template text lacks a required field",
        edit("Klart {{ expected_resolution|default('okänt') }}.", "Klart snart."),
        "template 'started' (sv) does not use 'expected_resolution', which its `requires` lists",
        "requires: [service.description",
    ),
    Case(
        "template with a Jinja syntax error",
        edit('"Klart. {{ scope }}"', '"Klart. {{ scope }"'),
        "template 'resolved' (sv): Jinja syntax error in its body on line 1",
        "Klart. {{ scope }",
    ),
    Case(
        "timer at a field that is not a datetime",
        edit("at: expected_resolution", "at: scope"),
        "timer 'eta_passed' runs at field 'scope', which is a text field",
        "at: scope",
    ),
    Case(
        "sub-region choices without sub-regions",
        edit("subregions:\n  north: {title: Norr}\n  south: {title: Söder}\n", ""),
        "field 'affected' takes its choices from the sub-regions, but the plan defines none",
        "choices_from: subregions",
    ),
    Case(
        "notify without an audience",
        edit("{kind: banner, audience: users}", "{kind: banner}"),
        "notify needs an audience: channel(s) banner have no default `audience`. "
        "Known audiences: council, users",
        "{template: started, channels: [banner, mail]}",
    ),
    Case(
        "template text in an undeclared language",
        edit('body: {sv: "Klart. {{ scope }}", en:', 'body: {sv: "Klart. {{ scope }}", de:'),
        "template 'resolved' has a text in 'de', which document.languages does not list; "
        "languages: sv, en",
        '{sv: "Klart. {{ scope }}", de:',
    ),
    Case(
        "plan language not among its languages",
        edit(
            "  title: {sv: Miniplan, en: Mini plan}\n",
            "  title: {sv: Miniplan, en: Mini plan}\n  language: se\n",
        ),
        "document.language is 'se', which document.languages does not list",
        "language: se",
    ),
    Case(
        "duplicate timer id",
        edit("{id: eta_passed,", "{id: update_due,"),
        "duplicate timer id 'update_due' in state 'outage' (also timers[0])",
        "{id: update_due, at:",
    ),
]


def _problems(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as raised:
        parse(text)
    return raised.value.problems


def test_fixture_plan_is_valid_without_warnings() -> None:
    """The fixture every broken plan derives from passes the checker cleanly."""
    definition = parse(VALID_PLAN)
    assert check_workflow(definition, known_kinds=KNOWN_KINDS) == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_plan_is_refused_with_a_located_error(case: Case) -> None:
    """Each broken plan fails with an error that explains the mistake and points at its line."""
    text = case.text()
    problems = _problems(text)
    matching = [p for p in problems if case.message in p.message]
    assert matching, f"no error containing {case.message!r}; got:\n" + "\n".join(map(str, problems))
    problem = matching[0]
    assert problem.severity == "error"
    assert problem.line == line_of(text, case.at, case.occurrence), str(problem)
    assert problem.column >= 1
    assert str(problem).startswith(f"plan.yaml:{problem.line}:{problem.column}: error: ")


def test_at_least_25_broken_plans() -> None:
    """The table covers at least 25 distinct mistakes."""
    assert len({c.name for c in CASES}) >= 25


def test_errors_carry_the_dotted_location() -> None:
    """A problem's `location` names the place in the plan, for tools that jump to it."""
    text = broken("channels: [banner, mail]}\n    timers", "channels: [banner, smss]}\n    timers")
    problem = next(p for p in _problems(text) if "smss" in p.message)
    assert problem.location == "states.outage.on_enter[0].notify.channels[1]"


def test_every_error_is_reported_not_just_the_first() -> None:
    """Two independent mistakes give two errors in one DefinitionError."""
    text = broken("dest: reserve\n", "dest: reserv\n")
    text = broken("{template: resolved, channels", "{template: resolvd, channels", text)
    messages = " ".join(p.message for p in _problems(text))
    assert "'reserv'" in messages
    assert "'resolvd'" in messages


def test_template_without_the_plans_language_is_a_warning() -> None:
    """A template written only in English, in a Swedish plan, is allowed but warned about."""
    text = broken('body: {sv: "Klart. {{ scope }}", en:', "body: {en:")
    warnings = check_workflow(parse(text), known_kinds=KNOWN_KINDS)
    assert [p.message for p in warnings] == [
        "template 'resolved' has no text in the plan's language 'sv'; its readers get 'en' instead"
    ]
    assert warnings[0].severity == "warning"
    assert warnings[0].line == line_of(text, "body: {en:")


def test_ambiguous_trigger_with_conditions_on_both_is_a_warning() -> None:
    """Two transitions sharing a trigger and source, both conditioned, only draw a warning."""
    text = broken(
        ADD_TRANSITION,
        "  - trigger: escalate\n    source: outage\n    dest: closed\n"
        "    conditions: {field: severity, equals: low}\nrules:\n",
    )
    definition = parse(text)
    warnings = [w for w in definition.warnings if "ambiguous" in w.message]
    assert len(warnings) == 1
    assert warnings[0].severity == "warning"
    assert warnings[0].line == line_of(text, "  - trigger: escalate", 2)


def test_ambiguous_trigger_with_one_condition_is_an_error() -> None:
    """Only one of two overlapping transitions conditioned is still an error."""
    text = broken(ADD_TRANSITION, "  - {trigger: escalate, source: outage, dest: closed}\nrules:\n")
    assert any("'escalate' is ambiguous in outage" in p.message for p in _problems(text))


def test_internal_transition_on_a_final_state_is_allowed() -> None:
    """An internal transition may start in a final state (e.g. a note after closing)."""
    text = broken(ADD_TRANSITION, "  - {trigger: note, source: closed, internal: true}\nrules:\n")
    assert parse(text).warnings == ()


def test_channel_kinds_are_not_checked_without_known_kinds() -> None:
    """Without a list of installed kinds the checker cannot judge `kind`, so it does not."""
    text = broken("{kind: banner, audience: users}", "{kind: carrier_pigeon, audience: users}")
    definition = parse(text, check=False)
    assert check_workflow(definition) == []
    assert any(
        "carrier_pigeon" in p.message for p in check_workflow(definition, known_kinds=KNOWN_KINDS)
    )


def test_template_requirement_met_through_a_filter_or_condition() -> None:
    """A required field counts as used inside a filter, or in an if-block."""
    text = broken(
        "Klart {{ expected_resolution|default('okänt') }}.",
        "{% if expected_resolution %}Klart {{ expected_resolution | upper }}.{% endif %}",
    )
    assert parse(text).warnings == ()


WARNINGS = [
    (
        "role",
        (
            "  operator: {title: Operatör}\n",
            "  operator: {title: Operatör}\n  ghost: {title: Spöke}\n",
        ),
        "  ghost:",
    ),
    (
        "audience",
        (
            "  users: {title: Användare, lists: [users]}\n",
            "  users: {title: Användare, lists: [users]}\n  nobody: {title: Ingen}\n",
        ),
        "  nobody:",
    ),
    (
        "channel",
        (
            "  banner: {kind: banner, audience: users}\n",
            "  banner: {kind: banner, audience: users}\n  fax: {kind: webhook}\n",
        ),
        "  fax:",
    ),
    ("template", ("states:\n", "  unused_tpl: {body: Hej}\nstates:\n"), "  unused_tpl:"),
    (
        "field",
        (
            "  broken_everywhere: {type: bool}\n",
            "  broken_everywhere: {type: bool}\n  notes: {type: text}\n",
        ),
        "  notes:",
    ),
]


@pytest.mark.parametrize(("kind", "change", "at"), WARNINGS, ids=[w[0] for w in WARNINGS])
def test_unused_definition_is_a_warning(kind: str, change: tuple[str, str], at: str) -> None:
    """A definition nothing refers to loads, with a warning pointing at it."""
    text = broken(*change)
    warnings = parse(text).warnings
    name = at.strip().rstrip(":")
    assert [(w.message, w.line, w.severity) for w in warnings] == [
        (f"{kind} '{name}' is defined but never used", line_of(text, at), "warning")
    ]


def test_unused_subregions_are_warnings() -> None:
    """Sub-regions that no field offers as choices are reported as unused."""
    text = broken("choices_from: subregions}", "choices: [north, south]}")
    text = broken("      scope: {field: affected}\n", "", text)
    messages = sorted(w.message for w in parse(text).warnings)
    assert messages == [
        "subregion 'north' is defined but never used",
        "subregion 'south' is defined but never used",
    ]


def test_deputy_of_a_used_role_counts_as_used() -> None:
    """A deputy stands in for its principal, so it is not reported as unused."""
    text = broken("roles: [chair, vice_chair]", "roles: [chair]")
    assert parse(text).warnings == ()
