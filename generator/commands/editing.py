"""What the commands that edit portfolio.yaml share: read it as `build` does, edit its text, check the result as
`build` does, and write it back in the bytes it came in (its line endings and byte-order mark kept).

An editing command never ends in an internal error on input `build` reports: the file is loaded by the build's own
loader first, so broken YAML gets the same positioned diagnostic; an edit the round-trip editor cannot make in place
is EDIT001 at the position it names. The file named in every message is the file given.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.commands.common import display, portfolio_path, validate
from generator.diagnostics import Diagnostic, has_errors
from generator.errors import DiagnosticsError, UsageError
from generator.model.loader import SourceMap, parse_yaml, read_portfolio_text, validate_data
from generator.output.files import failure, write_file
from generator.pipeline import prepare

if TYPE_CHECKING:
    from generator.model.portfolio import Portfolio

BOM = "\ufeff"


@dataclass(frozen=True)
class PortfolioFile:
    """The portfolio as given: its text with LF line ends and no BOM (what the edits work on) and how to restore it."""

    path: Path
    name: str  # as messages name it: the path given, relative to the working directory
    text: str
    bom: bool
    crlf: bool

    @classmethod
    def read(cls, args: argparse.Namespace) -> PortfolioFile:
        if str(args.portfolio) == "-":
            raise UsageError(f"{args.command} edits the portfolio file in place: name the file with --portfolio, not -")
        path = portfolio_path(args)
        name = display(path)
        data = read_portfolio_text(path)
        parse_yaml(data, name)  # what build reports about this file, reported the same way, before any edit
        text = data.decode("utf-8")
        bom = text.startswith(BOM)
        text = text.removeprefix(BOM)
        crlf = "\r\n" in text
        return cls(path, name, text.replace("\r\n", "\n") if crlf else text, bom, crlf)

    def load(self) -> tuple[Any, SourceMap, Portfolio]:
        """The plain data, where each value was written (in the LF text the edits work on) and the typed portfolio."""
        plain, source = parse_yaml(self.text.encode("utf-8"), self.name)
        return plain, source, validate_data(plain, source)

    def check(self, new_text: str, args: argparse.Namespace) -> list[Diagnostic]:
        """Every check `build` makes (without CRDs), on the edited text; raises DiagnosticsError on an error, else
        returns the warnings. The diagnostics name this file."""
        try:
            with tempfile.TemporaryDirectory() as scratch:
                candidate = Path(scratch) / "portfolio.yaml"
                candidate.write_text(new_text, encoding="utf-8")
                prepared = prepare(candidate, display_name=self.name)
        except OSError as error:  # a full disk while writing the candidate
            raise failure(self.path, error, unchanged=f"{self.name} is as it was") from error
        report = validate(prepared, argparse.Namespace(crd_dir=[], allow_missing_schemas=False))
        if has_errors(report.diagnostics):
            raise DiagnosticsError(report.diagnostics)
        return report.diagnostics

    def write(self, new_text: str) -> None:
        """The edited text, in the line endings and byte-order mark the file had; through a symlink to its target."""
        text = new_text.replace("\n", "\r\n") if self.crlf else new_text
        write_file(self.path, (BOM if self.bom else "") + text)  # through a symlink to the portfolio it names
