"""YAML -> Portfolio, with the source position of every value and safe-YAML limits.

Every problem becomes a Diagnostic with file, line and column; nothing here raises anything but
`DiagnosticsError` or `UsageError`.
"""

from __future__ import annotations

import difflib
import stat
import types
import typing
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from generator.diagnostics import Diagnostic, FieldPath, Problem, format_path
from generator.errors import DiagnosticsError, UsageError
from generator.model.fields import PATTERN_HELP
from generator.model.portfolio import Portfolio

MAX_FILE_BYTES = 64 << 20  # a portfolio of 5,000 models is about 5 MiB
MAX_NODES = 100_000  # aliases may always expand to this many nodes ...
ALIAS_EXPANSION = 4  # ... or to this many times the nodes written, whichever is more
MAX_DEPTH = 64
_STANDARD_TAG = "tag:yaml.org,2002:"



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
            severity=problem.severity,
        )


@dataclass(frozen=True)
class LoadedPortfolio:
    portfolio: Portfolio
    source: SourceMap


class _TooLarge(Exception):
    pass


class _Converter:
    """Turns ruamel's round-trip tree into plain data while recording positions."""

    def __init__(self, source: SourceMap, *, limit: int) -> None:
        self.source = source
        self.limit = limit
        self.nodes = 0

    def convert(self, node: Any, path: FieldPath) -> Any:
        self.nodes += 1
        if self.nodes > self.limit:
            raise _TooLarge
        if isinstance(node, CommentedMap):
            out: dict[Any, Any] = {}
            for key, value in node.items():
                child = (*path, key if isinstance(key, (str, int)) else str(key))
                self._record(node, key, child)
                out[key] = self.convert(value, child)
            return out
        if isinstance(node, CommentedSeq):
            items = []
            for index, value in enumerate(node):
                child = (*path, index)
                try:
                    line, col = node.lc.item(index)
                    self.source.values[child] = (line + 1, col + 1)
                except (KeyError, IndexError, TypeError):
                    pass
                items.append(self.convert(value, child))
            return items
        if isinstance(node, str):
            return str(node)
        if isinstance(node, bool) or node is None:
            return node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            return float(node)
        return node

    def _record(self, node: CommentedMap, key: Any, child: FieldPath) -> None:
        # Keys brought in by a `<<` merge have no position of their own; they inherit the parent's.
        try:
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
        except (KeyError, TypeError):
            return
        self.source.keys[child] = (kline + 1, kcol + 1)
        self.source.values[child] = (vline + 1, vcol + 1)


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


def _scan(yaml: YAML, text: str) -> tuple[list[Problem], int, dict[FieldPath, tuple[int, int]]]:
    """Read the event stream before anything is built from it: explicit tags (only plain YAML is accepted, so
    nothing is ever constructed from a tag), the nesting depth, and the number of nodes as written."""
    problems: list[Problem] = []
    marks: dict[FieldPath, tuple[int, int]] = {}
    # Each open collection: [path, is_mapping, expecting_a_key, last_key, next_index]
    stack: list[list[Any]] = []
    nodes = 0

    def place() -> tuple[FieldPath, bool]:
        """The path of the node that starts now, and whether it is a mapping key."""
        if not stack:
            return (), False
        top = stack[-1]
        if top[1]:
            return (*top[0], top[3]) if not top[2] else top[0], top[2]
        return (*top[0], top[4]), False

    def done() -> None:
        """A node ended: the mapping now expects its next key, the sequence its next item."""
        if stack:
            top = stack[-1]
            if top[1]:
                top[2] = not top[2]
            else:
                top[4] += 1

    for event in yaml.parse(text):
        kind = type(event).__name__
        if kind not in ("ScalarEvent", "MappingStartEvent", "SequenceStartEvent", "AliasEvent",
                        "MappingEndEvent", "SequenceEndEvent"):
            continue
        if kind in ("MappingEndEvent", "SequenceEndEvent"):
            stack.pop()
            done()
            continue
        nodes += 1
        path, is_key = place()
        tag = getattr(event, "tag", None)
        if tag is not None:
            mark = event.start_mark
            marks[path] = (mark.line + 1, mark.column + 1)
            shown = tag.replace(_STANDARD_TAG, "!!")
            problems.append(Problem(path, "YAML004", f"YAML tag {shown!r}: plain values only (no tags, standard or not)"))
        if kind == "ScalarEvent" and is_key and stack:
            stack[-1][3] = str(event.value)
        if kind in ("MappingStartEvent", "SequenceStartEvent"):
            if len(stack) >= MAX_DEPTH:
                mark = event.start_mark
                raise DiagnosticsError([Diagnostic("", mark.line + 1, mark.column + 1, "YAML006", "",
                                                   f"nested deeper than {MAX_DEPTH} levels")])
            stack.append([path, kind == "MappingStartEvent", True, None, 0])
        else:
            done()
    return problems, nodes, marks


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
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        tags, written, marks = _scan(yaml, text)
        if tags:
            for path, position in marks.items():
                source.values[path] = position
            raise DiagnosticsError([source.locate(p) for p in tags])
        with warnings.catch_warnings():  # a reused anchor is legal YAML; ruamel's warning would reach the user raw
            warnings.simplefilter("ignore")
            root = yaml.load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        rule = "YAML002" if type(e).__name__ == "DuplicateKeyError" else "YAML001"
        problem = (e.problem or "invalid YAML").strip()
        if rule == "YAML002":
            problem = problem.split(" with value")[0] + "; each key may appear once in a mapping"
        elif e.context:
            problem = f"{e.context.strip()}: {problem}"
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise fail(rule, problem, line, column) from e
    except DiagnosticsError as e:
        for diagnostic in e.diagnostics:  # the depth check does not know the file's name
            if not diagnostic.file:
                raise fail(diagnostic.rule, diagnostic.message, diagnostic.line, diagnostic.column) from e
        raise
    except (YAMLError, ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as e:
        raise fail("YAML001", f"invalid YAML: {e}") from e
    if root is None:
        raise fail("YAML003", "the file is empty; expected a mapping with namespace, flavors, models, ...")
    if not isinstance(root, CommentedMap):
        kind = "list" if isinstance(root, CommentedSeq) else "scalar"
        raise fail("YAML003", f"the top level must be a mapping of portfolio sections, not a {kind}")
    source.values[()] = (1, 1)
    # Aliases may repeat what is written, never multiply it (a "billion laughs" expands exponentially).
    converter = _Converter(source, limit=max(MAX_NODES, ALIAS_EXPANSION * written))
    try:
        plain = converter.convert(root, ())
    except _TooLarge as e:
        raise fail("YAML006", f"aliases expand the document to more than {converter.limit} nodes") from e
    except RecursionError as e:
        raise fail("YAML006", "the document is nested too deeply or refers to itself") from e
    return plain, source


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
    message = str(error["msg"]).replace("Input should be", "must be").replace("Value error, ", "")
    if kind not in ("model_type", "dict_type", "list_type", "value_error") and not isinstance(given, (dict, list)):
        message += f" (got {given!r})"
    return message, False


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
