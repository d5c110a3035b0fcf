"""A problem is a small sortable value; reporters turn a list of them into text, JSON or annotations."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
FieldPath = tuple[str | int, ...]

# The one verdict on every rule: build, check, validate, scenarios, the editing commands and the pre-commit hooks
# read it here, so a finding that stops one command stops them all (README, "Rules", shows the same table).
# A warning is a fact worth knowing that leaves a correct tree; an error would deploy something wrong or false,
# a demo story the simulation contradicts (SCN001) included: the runbook would promise what the cluster won't do.
WARNINGS = frozenset({"PF005", "PF014", "VLLM006", "KUEUE003", "KUEUE004", "SEC005", "CRD004", "COH005", "COH006", "ARGO001"})
ERRORS = frozenset({
    "YAML001", "YAML002", "YAML003", "YAML004", "YAML005", "YAML006", "YAML007", "EDIT001",
    "SCH001", "SCH002", "SCH003",
    "PF001", "PF002", "PF003", "PF004", "PF006", "PF007", "PF008", "PF009", "PF010", "PF011", "PF012", "PF013",
    "PF015", "PF016", "PF017", "PF018", "PF019", "PF020", "SCN001", "ARGO002",
    "COH001", "COH002", "COH003", "COH004",
    "VLLM001", "VLLM002", "VLLM003", "VLLM004", "VLLM005", "VLLM007", "ODH001", "ANN001", "ANN002",
    "KUEUE001", "KUEUE002", "SEC001", "SEC002", "SEC003", "SEC004", "SEC006", "SEC007", "IMG001",
    "K8S001", "K8S002", "K8S003", "K8S004", "K8S005", "CRD001", "CRD002", "CRD003", "CRD005",
})
SEVERITY: dict[str, Severity] = {**{rule: "error" for rule in ERRORS}, **{rule: "warning" for rule in WARNINGS}}


def severity_of(rule: str) -> Severity:
    """The rule's severity; a rule missing from the table is a bug, found by the tests that run every rule."""
    return SEVERITY[rule]


@dataclass(frozen=True)
class Problem:
    """A finding before it has a position: the field path it concerns, a rule id and a message."""

    path: FieldPath
    rule: str
    message: str
    at_key: bool = False

    @property
    def severity(self) -> Severity:
        return severity_of(self.rule)


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    rule: str
    path: str
    message: str
    severity: Severity = field(init=False)  # from the rule, never chosen by the caller
    # Where the offending value came from, when the problem is found in an emitted file.
    origin: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", severity_of(self.rule))

    def text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        path = f" {self.path}:" if self.path else ""
        origin = f" (from {self.origin})" if self.origin else ""
        return f"{where}: {self.severity} [{self.rule}]{path} {self.message}{origin}"

    def github(self) -> str:
        kind = "error" if self.severity == "error" else "warning"
        message = f"[{self.rule}] {self.path}: {self.message}" if self.path else f"[{self.rule}] {self.message}"
        message = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return f"::{kind} file={self.file},line={max(self.line, 1)},col={max(self.column, 1)}::{message}"


def format_path(path: tuple[str | int, ...]) -> str:
    """('models', 2, 'gpus') -> 'models[2].gpus'; keys with dots or slashes in brackets: labels["a.b/c"]."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
            continue
        part = str(part)  # a YAML key may be a float, a bool or null: name it as the user wrote it
        if "." in part or "/" in part:
            out += f'["{part}"]'
        else:
            out += f".{part}" if out else part
    return out


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity == "error" for d in diagnostics)


def render_text(diagnostics: list[Diagnostic]) -> str:
    return "".join(d.text() + "\n" for d in sorted(diagnostics))


def render_github(diagnostics: list[Diagnostic]) -> str:
    return "".join(d.github() + "\n" for d in sorted(diagnostics))


def render_json(diagnostics: list[Diagnostic], **summary: object) -> str:
    """{"diagnostics": [{file, line, column, severity, rule, path, message, origin}], "summary": {...}}."""
    items = [asdict(d) for d in sorted(diagnostics)]
    counts = {"errors": sum(d.severity == "error" for d in diagnostics),
              "warnings": sum(d.severity == "warning" for d in diagnostics)}
    return json.dumps({"diagnostics": items, "summary": {**counts, **summary}}, indent=2, sort_keys=True) + "\n"


REPORTERS = {"text": render_text, "github": render_github}
