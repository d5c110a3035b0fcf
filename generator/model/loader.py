"""YAML -> Portfolio, with the source position of every value and safe-YAML limits.

Every problem becomes a Diagnostic with file, line and column; nothing here raises anything but
`DiagnosticsError` or `UsageError`.
"""

from __future__ import annotations

import difflib
import re
import stat
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ValidationError

from generator.diagnostics import Diagnostic, FieldPath, Problem, format_path
from generator.errors import DiagnosticsError, UsageError
from generator.model.fields import PATTERN_HELP
from generator.model.portfolio import Portfolio
from generator.model.yamlread import YamlProblem, path_key, read_yaml

MAX_FILE_BYTES = 64 << 20  # the 5,000-model benchmark portfolio is 2.4 MiB



@dataclass
class SourceMap:
    """Where each value (and each mapping key) of the portfolio was written, 1-based."""

    file: str
    values: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[FieldPath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: FieldPath, *, at_key: bool = False) -> tuple[int, int]:
        if at_key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)

    def locate(self, problem: Problem) -> Diagnostic:
        line, column = self.position(problem.path, at_key=problem.at_key)
        return Diagnostic(
            file=self.file, line=line, column=column, rule=problem.rule,
            path=format_path(problem.path), message=problem.message,
        )


@dataclass(frozen=True)
class LoadedPortfolio:
    portfolio: Portfolio
    source: SourceMap


def read_portfolio_text(path: Path) -> bytes:
    """The file's bytes; only a regular file, and never more than the size limit (a FIFO or /dev/zero is refused)."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            kind = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            raise UsageError(f"{path}: is {kind}, expected a portfolio YAML file")
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError as e:
        raise UsageError(f"{path}: no such portfolio file") from e
    except PermissionError as e:
        raise UsageError(f"{path}: permission denied") from e
    except OSError as e:  # a symlink loop, a file where a folder should be, a name too long
        raise UsageError(f"{path}: cannot be read: {e.strerror or e}") from e
    if len(data) > MAX_FILE_BYTES:
        raise DiagnosticsError([Diagnostic(str(path), 1, 1, "YAML005", "", f"file is larger than {MAX_FILE_BYTES} bytes")])
    return data


def parse_yaml(data: bytes, file: str) -> tuple[Any, SourceMap]:
    source = SourceMap(file)

    def fail(rule: str, message: str, line: int = 1, column: int = 1) -> DiagnosticsError:
        return DiagnosticsError([Diagnostic(file, line, column, rule, "", message)])

    if len(data) > MAX_FILE_BYTES:
        raise fail("YAML005", f"file is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail("YAML001", f"not UTF-8 text (byte {e.start})") from e
    try:
        read = read_yaml(text)
    except YamlProblem as e:
        raise fail(e.rule, e.message, e.line, e.column) from e
    except yaml.MarkedYAMLError as e:
        raise fail("YAML001", *explain_syntax_error(text, e)) from e
    except yaml.reader.ReaderError as e:  # a character YAML does not allow: where it is, by line and column
        before = text[:max(0, min(e.position, len(text)))]
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        character = chr(e.character) if isinstance(e.character, int) else str(e.character)
        raise fail("YAML001", f"the character {character!r} is not allowed in YAML (a control character); remove it",
                   line, column) from e
    except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as e:
        raise fail("YAML001", f"invalid YAML: {e}") from e
    source.values.update(read.values)
    source.keys.update(read.keys)
    if read.tagged:
        problems = []
        for path, tag, position in read.tagged:
            source.values.setdefault(path, position)
            problems.append(Problem(path, "YAML004", f"YAML tag {tag!r}: plain values only (no tags, standard or not)"))
        raise DiagnosticsError([source.locate(p) for p in problems])
    root = read.data
    if root is None:
        raise fail("YAML003", "the file is empty; expected a mapping with namespace, flavors, models, ...")
    if not isinstance(root, dict):
        kind = "list" if isinstance(root, list) else "scalar"
        raise fail("YAML003", f"the top level must be a mapping of portfolio sections, not a {kind}")
    source.values[()] = (1, 1)
    controls = [Problem(path, "YAML007", f"{what} holds the control character U+{ord(char):04X} (written as an escape): "
                        "the YAML readers downstream (kustomize, Argo CD) refuse it; remove it", at_key=what == "the key")
                for path, what, char in _control_characters(root, ())]
    if controls:
        raise DiagnosticsError([source.locate(p) for p in controls])
    return root, source


def _unprintable(text: str) -> str | None:
    """The first character YAML may not carry in a stream (escapes in double quotes can still make one), and NEL
    (U+0085), a line break to YAML 1.1 that kustomize does not keep."""
    for char in text:
        code = ord(char)
        if not (code in (0x09, 0x0A, 0x0D) or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF
                or 0xE000 <= code <= 0xFFFD or code >= 0x10000):
            return char
    return None


def _control_characters(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str, str]]:
    if isinstance(value, str):
        char = _unprintable(value)
        if char is not None:
            yield path, "the value", char
    elif isinstance(value, dict):
        for key, item in value.items():
            char = _unprintable(key) if isinstance(key, str) else None
            if char is not None:
                yield (*path, path_key(key)), "the key", char
            yield from _control_characters(item, (*path, path_key(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _control_characters(item, (*path, index))
def explain_syntax_error(text: str, error: yaml.MarkedYAMLError) -> tuple[str, int, int]:
    """The parser's complaint in words a portfolio author acts on, at the line that needs the fix (the parser often
    notices a mistake on the line after it); the parser's own words follow in parentheses."""
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    raw = (error.problem or "invalid YAML").strip()
    said = f"{error.context.strip()}: {raw}" if error.context else raw
    lines = text.splitlines()
    above = next((i for i in range(line - 2, -1, -1) if lines[i].strip() and not lines[i].lstrip().startswith("#")), None)
    if raw == "could not find expected ':'" and error.context_mark is not None:
        line, column = error.context_mark.line + 1, error.context_mark.column + 1
        message = "a key without ':' (write `key: value`), or a value that runs over several lines without quotes"
    elif raw == "mapping values are not allowed in this context":
        if above is not None and line - 1 < len(lines) and _indent(lines[line - 1]) > _indent(lines[above]) \
                and re.match(r"\s*(- )?[^\s#][^:#]*:\s+[^\s#{\[|>&*]", lines[above]):
            line, column = above + 1, _indent(lines[above]) + 1
            message = ("this key has a value and also keys indented under it on the next line; keep one: remove the "
                       "value, or indent the next line as a sibling")
        else:
            message = "a second ': ' in a value: put the value in quotes"
    elif "found character '\\t'" in raw or "tab character" in raw:
        message = "a tab: YAML indents (and separates) with spaces only"
    elif raw == "did not find expected key" or raw.startswith("expected <block end>"):
        message = "this line is indented differently from the keys above it (or a list item stands where a key belongs)"
    elif raw == "did not find expected '-' indicator":
        message = "an item of a list indented differently from the items above it"
    elif raw.startswith("found unexpected end of stream"):
        message = "the file ends inside a value: a quote or a bracket opened here never closes"
        if error.context_mark is not None:
            line, column = error.context_mark.line + 1, error.context_mark.column + 1
    else:
        return said, line, column
    return f"{message} (the YAML parser: {said})", line, column


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _unwrap(annotation: Any) -> Any:
    """The model class a field holds, looking through Optional, list, dict and Annotated."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = args[0] if len(args) == 1 else annotation
            if len(args) != 1:
                return annotation
        elif origin in (list, dict):
            annotation = typing.get_args(annotation)[-1]
        else:
            return annotation


def _model_at(loc: FieldPath) -> type[BaseModel] | None:
    current: Any = Portfolio
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        by_alias = {(f.alias or name): f for name, f in current.model_fields.items()}
        if part not in by_alias:
            return None
        current = _unwrap(by_alias[part].annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def allowed_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _describe(error: Any) -> tuple[str, bool]:
    """A message that says what is allowed, and whether it points at the key rather than the value."""
    kind = error["type"]
    loc = error["loc"]
    given = error.get("input")
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        keys = allowed_keys(model) if model else []
        message = f"unknown key {loc[-1]!r}"
        close = difflib.get_close_matches(str(loc[-1]), keys, n=1)
        if close:
            message += f"; did you mean {close[0]!r}?"
        if keys:
            message += f" (allowed: {', '.join(keys)})"
        return message, True
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing", False
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern", "")
        return f"{given!r} {PATTERN_HELP.get(pattern, f'does not match the pattern {pattern}')}", False
    if kind in ("model_type", "dict_type"):
        model = _model_at(loc) if kind == "model_type" else None
        allowed = f" (keys: {', '.join(allowed_keys(model))})" if model else ""
        return f"must be a mapping of keys and values{allowed}, not {_kind_of(given)}", False
    if kind == "list_type":
        return f"must be a list, not {_kind_of(given)}", False
    message = str(error["msg"]).replace("Input should be", "must be").replace("Value error, ", "")
    if kind not in ("model_type", "dict_type", "list_type", "value_error") and not isinstance(given, (dict, list)):
        message += f" (got {given!r})"
    return message, False


def _kind_of(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"the text {value!r}"


def validate_data(plain: Any, source: SourceMap) -> Portfolio:
    try:
        return Portfolio.model_validate(plain)
    except ValidationError as e:
        problems = []
        for error in e.errors():
            loc = tuple(part for part in error["loc"] if not str(part).startswith("function-"))
            message, at_key = _describe(error)
            problems.append(Problem(loc, _schema_rule(error["type"]), message, at_key=at_key))
        raise DiagnosticsError(sorted({source.locate(p) for p in problems})) from e


def _schema_rule(kind: str) -> str:
    return {"extra_forbidden": "SCH002", "missing": "SCH003"}.get(kind, "SCH001")


def load_portfolio(path: Path, *, display_name: str | None = None) -> LoadedPortfolio:
    """Read and type-check a portfolio; raise DiagnosticsError with every problem found.

    Only loading happens here: cross-field rules and lints are the checks stage's, admission the
    admission stage's (see `generator.pipeline`).
    """
    file = display_name or str(path)
    plain, source = parse_yaml(read_portfolio_text(path), file)
    return LoadedPortfolio(validate_data(plain, source), source)
