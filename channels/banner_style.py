"""`banner.css`: the notice's own stylesheet, published beside `banner.js` (which injects it).

The notice lands on someone else's page (SAMSA's login page), whose styles we neither know nor
control. So every rule is scoped to the `driftplan-banner` classes, the class is doubled to
outrank the host's ordinary `.content p` rules, `all: initial` drops whatever the host set on
these elements, and then every property the box depends on is set here. The colour follows the
severity stored with the message (`engine.definition.severity`): information (blue),
disturbance (amber), reserve routine (red, white text), all clear (green). Every pair of text
and background colours has a contrast ratio of at least 7:1 (WCAG 2.1 AA asks 4.5:1), and the
box reflows to a phone's width (no fixed widths, long words wrap).
"""

from __future__ import annotations

__all__ = ["BANNER_CSS", "COLOURS"]

# severity -> (background, text, accent border); text on background >= 7:1.
COLOURS: dict[str, tuple[str, str, str]] = {
    "info": ("#e7f0fa", "#0b2545", "#1a5fb4"),
    "warning": ("#fff1c2", "#2b1d00", "#a86300"),
    "critical": ("#9b1c1f", "#ffffff", "#5c0d0f"),
    "resolved": ("#e3f4e8", "#0f2e17", "#1e7b34"),
}

_BASE = """\
/* driftplan: the service notice. Scoped to .driftplan-banner; needs nothing from the page. */
.driftplan-banner.driftplan-banner {
  all: initial;
  display: block;
  box-sizing: border-box;
  position: static;
  width: auto;
  max-width: 100%;
  margin: 0;
  padding: 12px 16px;
  border: 0;
  border-left: 6px solid #a86300;
  border-radius: 0;
  background: #fff1c2;
  color: #2b1d00;
  font: 400 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  text-align: start;
  overflow-wrap: anywhere;
  word-break: normal;
}
.driftplan-banner.driftplan-banner * {
  all: initial;
  box-sizing: border-box;
  color: inherit;
  font: inherit;
  overflow-wrap: anywhere;
}
.driftplan-banner.driftplan-banner strong,
.driftplan-banner.driftplan-banner .driftplan-banner-title {
  display: block;
  margin: 0 0 4px;
  font-size: 18px;
  font-weight: 700;
  line-height: 1.35;
}
.driftplan-banner.driftplan-banner p {
  display: block;
  margin: 0 0 8px;
}
.driftplan-banner.driftplan-banner .driftplan-banner-text { white-space: pre-line; }
.driftplan-banner.driftplan-banner br { display: inline; }
.driftplan-banner.driftplan-banner p:last-child { margin-bottom: 0; }
.driftplan-banner.driftplan-banner .driftplan-banner-updated { font-size: 14px; }
.driftplan-banner.driftplan-banner a {
  display: inline;
  cursor: pointer;
  font-weight: 600;
  text-decoration: underline;
  text-underline-offset: 2px;
}
.driftplan-banner.driftplan-banner a:focus-visible {
  outline: 3px solid currentColor;
  outline-offset: 2px;
}
"""


def _severity_rules() -> str:
    rules = []
    for severity, (background, text, accent) in COLOURS.items():
        rules.append(
            f".driftplan-banner.driftplan-banner-{severity} {{\n"
            f"  background: {background};\n  color: {text};\n"
            f"  border-left-color: {accent};\n}}\n"
        )
    return "".join(rules)


BANNER_CSS = _BASE + _severity_rules()
