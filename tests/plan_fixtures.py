"""A small, complete, valid plan, and helpers to break it one edit at a time.

`VALID_PLAN` uses every section of the plan language once, so that each checker test can derive a
broken plan from it by one textual replacement (`broken(old, new)`) and predict the error's line
(`line_of(text, snippet)`). It has inline templates only, so it parses without any files.
"""

from __future__ import annotations

from engine.definition.definition import Definition
from engine.definition.loader import parse_definition

KNOWN_KINDS = frozenset({"email", "newsletter", "banner", "news", "webhook", "calendar"})

VALID_PLAN = """\
document:
  name: mini_outage
  version: 1
  title: {sv: Miniplan, en: Mini plan}
service:
  name: MINI
  description: {sv: Tjänsten används dygnet runt., en: Used around the clock.}
  inbound_mailbox: info@example.org
roles:
  operator: {title: Operatör}
  chair: {title: Ordförande}
  vice_chair: {title: Vice ordförande, deputy_of: chair}
  decider: {title: Delregional beslutsfattare, scope: subregion}
subregions:
  north: {title: Norr}
  south: {title: Söder}
fields:
  started_at: {type: datetime, required: true}
  expected_resolution: {type: datetime, required: true, unknown_allowed: true}
  scope: {type: text, required: true}
  affected: {type: multichoice, choices_from: subregions}
  severity: {type: choice, choices: [low, high]}
  broken_everywhere: {type: bool}
audiences:
  users: {title: Användare, lists: [users]}
  council: {title: Rådet, roles: [chair, vice_chair]}
channels:
  banner: {kind: banner, audience: users}
  mail:
    kind: email
    audience: users
    settings: {api_token: "${MAIL_TOKEN}", host: "${MAIL_HOST}"}
templates:
  started:
    subject: {sv: "Störning i {{ service.name }}", en: "Outage of {{ service.name }}"}
    body:
      sv: >-
        {{ service.description }} Sedan {{ started_at }}: {{ scope }}.
        Klart {{ expected_resolution|default('okänt') }}.
      en: >-
        {{ service.description }} Since {{ started_at }}: {{ scope }}.
        Fixed by {{ expected_resolution }}.
    requires: [service.description, started_at, scope, expected_resolution]
  escalated:
    body: {sv: "Reservrutin: {{ scope }}", en: "Reserve routine: {{ scope }}"}
    requires: [scope]
  resolved:
    body: {sv: "Klart. {{ scope }}", en: "Resolved. {{ scope }}"}
states:
  outage:
    title: Störning
    responsible: [operator]
    audiences: [users]
    on_enter:
      - notify: {template: started, channels: [banner, mail]}
    timers:
      - id: update_due
        every: 60m
        reset_on: [post_update]
        notify: {template: started, channels: [mail]}
      - {id: eta_passed, at: expected_resolution, notify: {template: started, channels: [mail]}}
  reserve:
    title: Reservrutin
    responsible: [decider]
    on_enter:
      - notify: {template: escalated, audience: council, channels: [mail]}
    timers:
      - {id: auto_close, after: 1d, fire: resolve}
  closed:
    title: Avslutad
    final: true
    on_enter:
      - notify: {template: resolved, channels: [banner, mail]}
transitions:
  - trigger: declare
    initial: true
    dest: outage
    allowed: [operator]
    requires: [started_at, scope, expected_resolution]
  - trigger: escalate
    source: outage
    dest: reserve
    allowed: [operator]
    conditions: {field: severity, equals: high}
    gate:
      any_of: [decider]
      scope: {field: affected}
      recordable_by: [operator]
      remind:
        - after: 15m
          notify: {template: escalated, to_approvers: true, channels: [mail]}
      expires: 2h
  - trigger: post_update
    source: [outage, reserve]
    internal: true
    allowed: [operator]
    append: [affected]
    actions:
      - notify: {template: started, channels: [mail]}
  - trigger: alert_council
    source: [outage, reserve]
    internal: true
    flags: [alerted]
    actions:
      - notify: {template: escalated, roles: [chair], channels: [mail]}
  - trigger: resolve
    source: [outage, reserve]
    dest: closed
    allowed: [operator]
rules:
  - id: council_alert
    when:
      all:
        - not: {flag: alerted}
        - any:
            - {field: broken_everywhere, equals: true}
            - {field: affected, min_items: 2}
    fire: alert_council
"""


def broken(old: str, new: str, text: str = VALID_PLAN) -> str:
    """`text` with the one occurrence of `old` replaced; fails loudly if `old` is not unique."""
    count = text.count(old)
    assert count == 1, f"{old!r} occurs {count} times in the plan"
    return text.replace(old, new)


def line_of(text: str, snippet: str, occurrence: int = 1) -> int:
    """The 1-based line number on which `snippet` occurs (the n-th time) in `text`."""
    start = -1
    for _ in range(occurrence):
        start = text.index(snippet, start + 1)
    return text.count("\n", 0, start) + 1


def parse(text: str, source: str = "plan.yaml", *, check: bool = True) -> Definition:
    """Parse a plan text with inline templates only, checking channel kinds."""
    return parse_definition(text, source, files={}, known_kinds=KNOWN_KINDS, check=check)
