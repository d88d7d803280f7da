"""`Definition`: a checked plan, ready to run, and the template sources it carries.

Its own module so that the checks, the diagram and the service can name the type without
importing the loader (which imports the checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definition.schema import Workflow, localized
from engine.definition.yaml_loader import Positions
from engine.errors import Problem


@dataclass(frozen=True)
class TemplateSource:
    """The Jinja source of one template in one language."""

    subject: str
    body: str


@dataclass(frozen=True)
class Definition:
    """A checked plan, ready to run. Immutable; shared by every incident of its version."""

    workflow: Workflow
    source: str
    positions: Positions
    snapshot: Mapping[str, Any]  # {"plan": text, "files": {relative path: text}}
    sha256: str
    templates: Mapping[str, Mapping[str, TemplateSource]]  # template -> language -> source
    warnings: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.workflow.document.name

    @property
    def version(self) -> str:
        return str(self.workflow.document.version)

    @property
    def language(self) -> str:
        return self.workflow.document.language

    def title(self, language: str | None = None) -> str:
        return localized(self.workflow.document.title, language or self.language)

    def template(self, name: str, language: str) -> TemplateSource:
        """The template's source in `language`, falling back to the plan's language."""
        per_language = self.templates[name]
        for key in (language, self.language, ""):
            if key in per_language:
                return per_language[key]
        return next(iter(per_language.values()))
