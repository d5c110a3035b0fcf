"""The one exception family the CLI turns into exit codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from generator.diagnostics import Diagnostic


class GeneratorError(Exception):
    """A problem the user can fix; never shown as a traceback."""


class UsageError(GeneratorError):
    """Bad invocation: missing file, unknown option value (exit 2)."""


class DiagnosticsError(GeneratorError):
    """One or more diagnostics with severity error (exit 1)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{len(diagnostics)} problem(s)")
        self.diagnostics = diagnostics
