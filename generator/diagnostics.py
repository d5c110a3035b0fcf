"""A problem is a small sortable value; reporters turn a list of them into text, JSON or annotations."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """A finding before it has a position: the field path it concerns, a rule id and a message."""

    path: FieldPath
    rule: str
    message: str
    severity: Severity = "error"
    at_key: bool = False


@dataclass(frozen=True, order=True)
class Diagnostic:
    file: str
    line: int
    column: int
    rule: str
    path: str
    message: str
    severity: Severity = "error"
    # Where the offending value came from, when the problem is found in an emitted file.
    origin: str | None = None

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
