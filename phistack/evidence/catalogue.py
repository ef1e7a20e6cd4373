"""The control catalogue (``controls.yaml``): HIPAA controls, the CFR sections and rule-id prefixes behind them,
and the title of every section a control lists or a rule cites.

Which rules evidence which control is derived from the rules themselves — their stable id prefix, else the
45 CFR sections their METADATA cites — so a new rule shows up under the right control without a code change.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phistack.errors import InputError
from runtime.configfile import load_yaml, validate

DEFAULT_CATALOGUE = Path(__file__).with_name("controls.yaml")

_CFR_PREFIX = re.compile(r"^\s*(45\s*C\.?F\.?R\.?)?\s*(§+|part)?\s*", re.IGNORECASE)


class Control(BaseModel):
    """One row of the HIPAA requirement table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str = Field(min_length=1)
    safeguard: str = ""
    summary: str = ""
    cfr: tuple[str, ...] = ()
    rule_prefixes: tuple[str, ...] = ()
    always_applies: bool = True
    optional: bool = False
    resources: tuple[str, ...] = ()
    not_applicable: str = "nothing in the stack falls under this control"

    def cites(self, citation: str) -> bool:
        """True when ``citation`` is one of this control's sections or a sub-paragraph of one."""
        cited = normalize_cfr(citation)
        return any(cited == own or cited.startswith(own + "(") for own in map(normalize_cfr, self.cfr))

    def owns_prefix(self, rule_id: str) -> bool:
        return any(rule_id == prefix or rule_id.startswith(prefix + "-") for prefix in self.rule_prefixes)

    def covers_type(self, resource_type: str) -> bool:
        return any(fnmatch.fnmatchcase(resource_type, pattern) for pattern in self.resources)


class Section(BaseModel):
    """A CFR section's heading as the regulation words it, and for a HIPAA implementation specification
    whether it is required or addressable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    type: Literal["required", "addressable", ""] = ""


class _CatalogueFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    controls: list[Control] = Field(min_length=1)
    sections: dict[str, Section] = Field(default_factory=dict)


def normalize_cfr(text: str) -> str:
    """``45 CFR § 164.312(a)(2)(iv)`` → ``164.312(a)(2)(iv)`` (spacing and prefix vary between rule authors)."""
    return re.sub(r"\s+", "", _CFR_PREFIX.sub("", text))


def rule_citations(meta: Mapping[str, Any]) -> list[dict[str, str]]:
    """A rule's METADATA citations as ``{cfr, title, type}`` (plain strings are accepted, as the gate does)."""
    raw = (meta.get("custom") or {}).get("citations") or []
    out: list[dict[str, str]] = []
    for item in raw:
        if isinstance(item, str):
            out.append({"cfr": item, "title": "", "type": ""})
        elif isinstance(item, dict) and isinstance(item.get("cfr"), str):
            out.append({"cfr": item["cfr"], "title": str(item.get("title", "")), "type": str(item.get("type", ""))})
    return out


@dataclass(frozen=True)
class RuleMapping:
    """Rule ids per control id, and the rules no control claims (reported separately, never dropped)."""

    by_control: dict[str, list[str]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)

    def controls_of(self, rule_id: str) -> list[str]:
        return [control for control, rules in self.by_control.items() if rule_id in rules]


@dataclass(frozen=True)
class Catalogue:
    controls: tuple[Control, ...]
    # Section headings by normalised section (see normalize_cfr).
    sections: Mapping[str, Section] = field(default_factory=dict, hash=False)

    def section(self, citation: str) -> Section | None:
        """The heading of a cited section, or None when the catalogue does not title it."""
        return self.sections.get(normalize_cfr(citation))

    def titles(self) -> dict[str, str]:
        """Every titled section: normalised section -> heading."""
        return {key: section.title for key, section in self.sections.items()}

    def map_rules(self, rules: Mapping[str, Mapping[str, Any]]) -> RuleMapping:
        """Assign each rule to controls: by id prefix when one matches (the author's explicit intent),
        else by every control whose CFR sections the rule cites."""
        by_control: dict[str, list[str]] = {control.id: [] for control in self.controls}
        unmapped: list[str] = []
        for rule_id in sorted(rules):
            owners = [c for c in self.controls if c.owns_prefix(rule_id)]
            if not owners:
                cited = [entry["cfr"] for entry in rule_citations(rules[rule_id])]
                owners = [c for c in self.controls if any(c.cites(cfr) for cfr in cited)]
            for control in owners:
                by_control[control.id].append(rule_id)
            if not owners:
                unmapped.append(rule_id)
        return RuleMapping(by_control=by_control, unmapped=unmapped)

    def reported(self, mappings: Iterable[RuleMapping]) -> list[Control]:
        """The controls a report shows: every core control; an optional one only where some rule backs it."""
        mappings = list(mappings)
        return [
            c for c in self.controls if not c.optional or any(m.by_control.get(c.id) for m in mappings)
        ]


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue file (default: the one shipped beside this module)."""
    path = path or DEFAULT_CATALOGUE
    parsed = validate(_CatalogueFile, load_yaml(path, "the control catalogue"), path)
    ids = [c.id for c in parsed.controls]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"{path}: controls: duplicate control id {duplicates[0]!r}")
    sections = {normalize_cfr(key): section for key, section in parsed.sections.items()}
    if len(sections) != len(parsed.sections):
        raise InputError(f"{path}: sections: the same section is listed twice (spelled differently)")
    # A control's own sections head its HIPAA column: each must be named, never shown as a bare number.
    for index, control in enumerate(parsed.controls):
        untitled = [cfr for cfr in control.cfr if normalize_cfr(cfr) not in sections]
        if untitled:
            raise InputError(f"{path}: controls[{index}].cfr: section {untitled[0]} has no title under sections")
    return Catalogue(controls=tuple(parsed.controls), sections=sections)
