"""Plain YAML 1.2 read in one pass over libyaml's events: the data, where each value and key was written, and the
safe-YAML limits (no tags, bounded depth, aliases that repeat but never multiply what is written).

libyaml's parser is many times faster than a pure-Python one, but PyYAML resolves plain scalars by YAML 1.1
(`yes`, `on`, `0777`); the values are resolved here by the YAML 1.2 core schema instead, as ruamel.yaml and
the Kubernetes tools read them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from generator.diagnostics import FieldPath

MAX_NODES = 100_000  # aliases may always expand to this many nodes ...
ALIAS_EXPANSION = 4  # ... or to this many times the nodes written, whichever is more
MAX_DEPTH = 64
_STANDARD_TAG = "tag:yaml.org,2002:"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"([-+]?)\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")


class YamlProblem(Exception):
    """A reason to refuse the file, with a rule id and where."""

    def __init__(self, rule: str, message: str, line: int = 1, column: int = 1, path: FieldPath | None = None) -> None:
        super().__init__(message)
        self.rule, self.message, self.line, self.column, self.path = rule, message, line, column, path


def resolve_plain(value: str, mark: Any) -> Any:
    """A plain scalar by the YAML 1.2 core schema."""
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    try:
        if _INT.match(value):
            return int(value)
        if _OCT.match(value):
            return int(value[2:], 8)
        if _HEX.match(value):
            return int(value[2:], 16)
    except ValueError as error:  # more digits than Python converts
        raise YamlProblem("YAML001", f"number too long: {value[:20]}...", mark.line + 1, mark.column + 1) from error
    if _FLOAT.match(value):
        return float(value)
    inf = _INF.match(value)
    if inf:
        return float(f"{inf.group(1)}inf")
    if _NAN.match(value):
        return float("nan")
    return value


@dataclass
class _Frame:
    path: FieldPath
    value: Any  # dict or list
    mark: tuple[int, int]
    anchor: str | None
    log_start: int
    total_start: int
    key: Any = None
    key_mark: tuple[int, int] | None = None
    expecting_key: bool = True
    explicit: set[Any] = field(default_factory=set)
    merges: list[dict[Any, Any]] = field(default_factory=list)


@dataclass
class ReadYaml:
    data: Any
    values: dict[FieldPath, tuple[int, int]]
    keys: dict[FieldPath, tuple[int, int]]
    tagged: list[tuple[FieldPath, str, tuple[int, int]]]  # explicit tags found: refused by the caller



def path_key(key: Any) -> str | int:
    """A key as a field path holds it: strings and integers as they are, floats, booleans and null as text."""
    return key if isinstance(key, str) or (isinstance(key, int) and not isinstance(key, bool)) else str(key)

class _Reader:
    def __init__(self) -> None:
        self.values: dict[FieldPath, tuple[int, int]] = {}
        self.keys: dict[FieldPath, tuple[int, int]] = {}
        # Every position recorded, in order: an anchor's slice is re-rooted where an alias repeats it.
        self.log: list[tuple[FieldPath, bool, tuple[int, int]]] = []
        self.anchors: dict[str, tuple[Any, int, FieldPath, list[tuple[FieldPath, bool, tuple[int, int]]]]] = {}
        self.stack: list[_Frame] = []
        self.tagged: list[tuple[FieldPath, str, tuple[int, int]]] = []
        self.written = 0  # nodes as written
        self.total = 0  # nodes once every alias is expanded
        self.root: Any = None
        self.documents = 0

    def _record(self, path: FieldPath, position: tuple[int, int], *, key: bool = False) -> None:
        (self.keys if key else self.values)[path] = position
        self.log.append((path, key, position))

    def _place(self) -> tuple[FieldPath, bool]:
        """The path of the node that starts now, and whether it is a mapping key."""
        if not self.stack:
            return (), False
        top = self.stack[-1]
        if isinstance(top.value, dict):
            return (top.path if top.expecting_key else (*top.path, path_key(top.key))), top.expecting_key
        return (*top.path, len(top.value)), False

    def _attach(self, value: Any, position: tuple[int, int], *, plain_merge: bool = False) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            self._record((*top.path, len(top.value)), position)
            top.value.append(value)
            return
        if top.expecting_key:
            key: Any = value if isinstance(value, (str, int, float)) or value is None else str(value)
            if plain_merge:
                key = _MERGE
            elif key in top.explicit:
                raise YamlProblem("YAML002", f'found duplicate key "{key}"; each key may appear once in a mapping', *position)
            top.key, top.key_mark, top.expecting_key = key, position, False
            return
        key = top.key
        top.expecting_key = True
        if key is _MERGE:
            merged = value if isinstance(value, list) else [value]
            if not all(isinstance(m, dict) for m in merged):
                raise YamlProblem("YAML001", "a merge key (<<) takes a mapping or a list of mappings", *position)
            top.merges += merged
            return
        child = (*top.path, path_key(key))
        assert top.key_mark is not None
        self._record(child, top.key_mark, key=True)
        self._record(child, position)
        top.explicit.add(key)
        top.value[key] = value

    def _finish(self, value: Any, position: tuple[int, int], anchor: str | None, path: FieldPath,
                log_start: int, total_start: int, *, plain_merge: bool = False) -> None:
        if anchor is not None:  # its size as expanded, so an alias of an alias counts in full
            self.anchors[anchor] = (value, self.total - total_start + 1, path, self.log[log_start:])
        self._attach(value, position, plain_merge=plain_merge)

    def event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "DocumentStartEvent":
            self.documents += 1
            if self.documents > 1:
                mark = event.start_mark
                raise YamlProblem("YAML001", "expected a single document in the stream; found another document",
                                  mark.line + 1, mark.column + 1)
            return
        if kind in ("MappingEndEvent", "SequenceEndEvent"):
            frame = self.stack.pop()
            if isinstance(frame.value, dict) and frame.merges:
                for merged in frame.merges:  # written keys win over merged ones; earlier merges over later
                    for k, v in merged.items():
                        if k not in frame.value:
                            frame.value[k] = v
            self._finish(frame.value, frame.mark, frame.anchor, frame.path, frame.log_start, frame.total_start)
            return
        if kind not in ("ScalarEvent", "MappingStartEvent", "SequenceStartEvent", "AliasEvent"):
            return
        mark = event.start_mark
        position = (mark.line + 1, mark.column + 1)
        path, _ = self._place()
        self.written += 1
        self.total += 1
        tag = getattr(event, "tag", None)
        if tag is not None:
            self.tagged.append((path, tag.replace(_STANDARD_TAG, "!!"), position))
        if kind == "AliasEvent":
            if event.anchor not in self.anchors:
                raise YamlProblem("YAML001", f"found undefined alias {event.anchor!r}", *position)
            value, size, anchor_path, entries = self.anchors[event.anchor]
            self.total += size - 1
            limit = max(MAX_NODES, ALIAS_EXPANSION * self.written)
            if self.total > limit:
                raise YamlProblem("YAML006", f"aliases expand the document to more than {limit} nodes")
            if self.stack and not (isinstance(self.stack[-1].value, dict) and self.stack[-1].expecting_key):
                top = self.stack[-1]
                target = (*top.path, len(top.value)) if isinstance(top.value, list) else (*top.path, path_key(top.key))
                cut = len(anchor_path)
                for entry_path, is_key, entry_position in entries:
                    self._record((*target, *entry_path[cut:]), entry_position, key=is_key)
            self._attach(value, position)
            return
        if kind == "ScalarEvent":
            plain = not event.style and tag is None  # libyaml reports a plain scalar as style ""
            value = resolve_plain(event.value, mark) if plain else event.value
            is_merge = plain and event.value == "<<" and self.stack and isinstance(self.stack[-1].value, dict) \
                and self.stack[-1].expecting_key
            self._finish(value, position, event.anchor, path, len(self.log), self.total, plain_merge=bool(is_merge))
            return
        if len(self.stack) >= MAX_DEPTH:
            raise YamlProblem("YAML006", f"nested deeper than {MAX_DEPTH} levels", *position)
        container: Any = {} if kind == "MappingStartEvent" else []
        self.stack.append(_Frame(path, container, position, event.anchor, len(self.log), self.total))


class _Merge:
    def __repr__(self) -> str:
        return "<<"


_MERGE = _Merge()


def read_yaml(text: str) -> ReadYaml:
    """Raises YamlProblem, or yaml.MarkedYAMLError for text that is not YAML."""
    reader = _Reader()
    loader = _LOADER(text)
    try:
        while loader.check_event():
            reader.event(loader.get_event())
    finally:
        loader.dispose()
    return ReadYaml(reader.root, reader.values, reader.keys, reader.tagged)
