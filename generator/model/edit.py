"""Edits of the portfolio text that keep everything else byte for byte: comments, layout, quoting.

Values and keys are replaced where the loader found them (`replace_scalars`), so any file the loader reads can be
edited that way. Edits that change the structure (an expectation written anew, a model removed) go through a
ruamel.yaml round trip, and only when an unchanged round trip gives back the very same text; otherwise, or when
ruamel.yaml refuses what the loader read, EDIT001 says where and nothing is rewritten.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from generator.diagnostics import Diagnostic, FieldPath, format_path
from generator.errors import DiagnosticsError, UsageError
from generator.model.loader import SourceMap
from generator.model.yamlread import resolve_plain

_NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")


@dataclass(frozen=True)
class Change:
    model: str
    old: str
    new: str


@dataclass(frozen=True)
class ScalarEdit:
    """Replace the scalar `old` written at (line, column), 1-based as the loader reports them, with `new`."""

    line: int
    column: int
    old: str
    new: str
    path: FieldPath = ()


def replace_scalars(text: str, edits: list[ScalarEdit], file: str) -> str:
    """`text` with each scalar replaced in the quoting it had (a plain value that would read as another type is
    double-quoted); the same place named twice (an alias, a merge) is edited once."""
    lines = text.splitlines(keepends=True)
    unique = {(e.line, e.column): e for e in edits}
    for (line, column), edit in sorted(unique.items(), reverse=True):  # right to left: earlier columns stay valid
        current = lines[line - 1]
        start = column - 1
        quote = current[start:start + 1]
        if quote in ("'", '"'):
            end = start + 1 + len(edit.old)
            if current[start + 1:end] != edit.old or current[end:end + 1] != quote:
                raise _cannot(file, edit, "the value is quoted in a way this edit does not rewrite")
            lines[line - 1] = current[:start + 1] + edit.new + current[end:]
            continue
        end = start + len(edit.old)
        if current[start:end] != edit.old or current[end:end + 1] in _NAME_CHARACTERS:  # "" (line end) is not in it
            raise _cannot(file, edit, "the value is not written as one plain word here")
        new = edit.new if isinstance(resolve_plain(edit.new, None), str) else f'"{edit.new}"'
        lines[line - 1] = current[:start] + new + current[end:]
    return "".join(lines)


def _cannot(file: str, edit: ScalarEdit, why: str) -> DiagnosticsError:
    return DiagnosticsError([Diagnostic(file, edit.line, edit.column, "EDIT001", format_path(edit.path),
                                        f"cannot replace {edit.old!r} with {edit.new!r} in place: {why}; edit it by hand")])


def set_model_states(plain: Any, source: SourceMap, states: dict[str, str]) -> tuple[list[ScalarEdit], list[Change]]:
    """The edits that give each named model its state, and what changes; a model without `state` gets none."""
    models = [m for m in plain.get("models") or [] if isinstance(m, dict)] if isinstance(plain, dict) else []
    names = [m.get("name") for m in models]
    unknown = [name for name in states if name not in names]
    if unknown:
        raise UsageError(f"unknown model {unknown[0]!r}; models: {', '.join(str(n) for n in names)}")
    edits, changes = [], []
    for index, model in enumerate(plain["models"]):
        new = states.get(str(model.get("name"))) if isinstance(model, dict) else None
        if new is None:
            continue
        path: FieldPath = ("models", index, "state")
        old = model.get("state", "active")
        if old == new:
            continue
        if path not in source.values:
            raise UsageError(f"model {model['name']!r} has no state written in the file; add `state: {old}` to it first")
        line, column = source.values[path]
        edits.append(ScalarEdit(line, column, str(old), new, path))
        changes.append(Change(model["name"], str(old), new))
    return edits, changes


# ---- references by name, for rename ----

def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _entries(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Reference:
    path: FieldPath
    at_key: bool = False  # the name is a mapping key (expect, environments[].flavors, environments[].teams)


def references(plain: dict[str, Any], kind: str, name: str) -> Iterator[Reference]:
    """Every place the portfolio names the flavor, model or team `name`, its own declaration included."""
    declared = {"flavor": "flavors", "model": "models", "team": "teams"}[kind]
    for index, item in enumerate(_items(plain.get(declared))):
        if _entries(item).get("name") == name:
            yield Reference((declared, index, "name"))
    if kind in ("flavor", "team"):
        for index, model in enumerate(_items(plain.get("models"))):
            if _entries(model).get(kind) == name:
                yield Reference(("models", index, kind))
    if kind == "flavor":
        for t_index, team in enumerate(_items(plain.get("teams"))):
            for q_index, quota in enumerate(_items(_entries(team).get("quota"))):
                if _entries(quota).get("flavor") == name:
                    yield Reference(("teams", t_index, "quota", q_index, "flavor"))
    for s_index, scenario in enumerate(_items(plain.get("scenarios"))):
        scenario = _entries(scenario)
        if kind == "model":
            for k, started in enumerate(_items(scenario.get("start"))):
                if started == name:
                    yield Reference(("scenarios", s_index, "start", k))
        for t_index, step in enumerate(_items(scenario.get("steps"))):
            step = _entries(step)
            base: FieldPath = ("scenarios", s_index, "steps", t_index)
            if kind == "model":
                for action in ("enable", "disable", "update"):
                    for k, named in enumerate(_items(step.get(action))):
                        if named == name:
                            yield Reference((*base, action, k))
            for model, expected in _entries(step.get("expect")).items():
                if kind == "model" and model == name:
                    yield Reference((*base, "expect", model), at_key=True)
                if kind == "flavor" and _entries(expected).get("flavor") == name:
                    yield Reference((*base, "expect", model, "flavor"))
    for e_index, env in enumerate(_items(plain.get("environments"))):
        env = _entries(env)
        if kind in ("flavor", "team") and name in _entries(env.get(kind + "s")):
            yield Reference(("environments", e_index, kind + "s", name), at_key=True)
        if kind == "flavor":
            for team, quotas in _entries(env.get("teams")).items():
                for q_index, quota in enumerate(_items(quotas)):
                    if _entries(quota).get("flavor") == name:
                        yield Reference(("environments", e_index, "teams", team, q_index, "flavor"))
        if kind == "model":
            for k, active in enumerate(_items(env.get("active"))):
                if active == name:
                    yield Reference(("environments", e_index, "active", k))


def rename_edits(plain: dict[str, Any], source: SourceMap, kind: str, old: str, new: str) -> list[ScalarEdit]:
    edits = []
    for ref in references(plain, kind, old):
        where = source.keys if ref.at_key else source.values
        if ref.path not in where:  # brought in by a merge key (<<): the text there is not this place's own
            line, column = source.position(ref.path)
            raise DiagnosticsError([Diagnostic(source.file, line, column, "EDIT001", format_path(ref.path),
                                               f"{old!r} comes in through a merge key (<<); rename it by hand")])
        line, column = where[ref.path]
        edits.append(ScalarEdit(line, column, old, new, ref.path))
    return edits


# ---- structural edits through a ruamel.yaml round trip ----

@dataclass
class RoundTrip:
    """A ruamel.yaml document whose unchanged dump is the text it was read from."""

    yaml: YAML
    root: Any
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, text: str, file: str) -> RoundTrip:
        from ruamel.yaml.util import load_yaml_guess_indent

        try:
            _, guessed, offset = load_yaml_guess_indent(text)
            # (mapping, sequence, offset) layouts seen in portfolios; the first whose unchanged round trip is exact wins
            layouts = [(2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (guessed or 2, guessed or 2, offset or 0)]
            for mapping, sequence, dash in layouts:
                yaml = YAML(typ="rt")
                yaml.preserve_quotes = True
                yaml.width = 4096
                yaml.indent(mapping=mapping, sequence=sequence, offset=dash)
                if _dump(yaml, yaml.load(text)) == text:
                    return cls(yaml, yaml.load(text))
        except (YAMLError, RecursionError, ValueError, TypeError, AttributeError) as error:
            raise _editor_refused(file, error) from error
        raise DiagnosticsError([Diagnostic(file, 1, 1, "EDIT001", "",
                                           "the file cannot be rewritten without changing its layout elsewhere (its "
                                           "indentation is not one a YAML writer reproduces); edit it by hand")])

    def text(self) -> str:
        return _dump(self.yaml, self.root)


def _editor_refused(file: str, error: BaseException) -> DiagnosticsError:
    line = column = 1
    if isinstance(error, MarkedYAMLError) and (error.problem_mark or error.context_mark):
        mark = error.problem_mark or error.context_mark
        line, column = mark.line + 1, mark.column + 1
    what = (getattr(error, "problem", None) or type(error).__name__).strip()
    return DiagnosticsError([Diagnostic(file, line, column, "EDIT001", "",
                                        f"the round-trip YAML editor cannot rewrite this file in place ({what}); write it "
                                        "in plain block style here, or edit it by hand")])


@dataclass(frozen=True)
class NewExpectation:
    scenario: int
    step: int
    model: str
    state: str
    flavor: str | None


def set_expectations(text: str, updates: list[NewExpectation], file: str) -> str:
    """`text` with the scenario expectations replaced, comments and layout kept (a ruamel round trip)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString

    trip = RoundTrip.of(text, file)
    for update in updates:
        expect = trip.root["scenarios"][update.scenario]["steps"][update.step]["expect"]
        old = expect.get(update.model)
        if isinstance(old, CommentedMap):  # keep the mapping the author wrote, its style included
            old["state"] = update.state
            if update.flavor:
                old["flavor"] = update.flavor
            elif "flavor" in old:
                del old["flavor"]
        elif update.flavor:
            value = CommentedMap([("state", update.state), ("flavor", update.flavor)])
            value.fa.set_flow_style()
            expect[update.model] = value
        else:
            # "off" is a boolean to YAML 1.1 readers: always quoted
            expect[update.model] = DoubleQuotedScalarString(update.state) if update.state == "off" else update.state
    return trip.text()


def remove_model(text: str, name: str, file: str) -> tuple[str, list[str]]:
    """`text` without the model `name` and every scenario and environment reference to it; what was dropped."""
    trip = RoundTrip.of(text, file)
    root = trip.root
    models = root.get("models")
    index = next((i for i, m in enumerate(models or []) if isinstance(m, CommentedMap) and m.get("name") == name), None)
    if index is None:
        raise UsageError(f"unknown model {name!r}; models: {', '.join(str(m.get('name')) for m in models or [])}")
    _delete_item(models, index)
    notes: list[str] = []
    seen: set[int] = set()  # a list written once and named again by an alias is edited once

    def drop_from(seq: Any, where: str) -> None:
        if isinstance(seq, CommentedSeq) and id(seq) not in seen and name in seq:
            seen.add(id(seq))
            while name in seq:
                _delete_item(seq, list(seq).index(name))
            notes.append(f"dropped {name} from {where}")

    for scenario in root.get("scenarios") or []:
        label = f"scenario {scenario.get('name')}"
        drop_from(scenario.get("start"), f"{label}, start")
        for t_index, step in enumerate(scenario.get("steps") or []):
            for action in ("enable", "disable", "update"):
                drop_from(step.get(action), f"{label}, step {t_index + 1}, {action}")
            expect = step.get("expect")
            if isinstance(expect, CommentedMap) and name in expect:
                del expect[name]
                notes.append(f"dropped {name} from {label}, step {t_index + 1}, expect")
    for env in root.get("environments") or []:
        drop_from(env.get("active"), f"environment {env.get('name')}, active")
    return trip.text(), notes


def _delete_item(seq: CommentedSeq, index: int) -> None:
    """Delete an item; a comment that ended it (the blank line and comments before what follows) moves to the item
    before it, so the next section keeps its heading."""
    trailing = _trailing_comment(seq[index]) if index == len(seq) - 1 and index > 0 else None
    del seq[index]
    if trailing is not None:
        _set_trailing_comment(seq[index - 1], trailing)


def _last_key_owner(node: Any) -> tuple[Any, Any] | None:
    """The innermost mapping or sequence that ends `node`, and its last key or index."""
    while isinstance(node, (CommentedMap, CommentedSeq)) and len(node):
        key = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
        child = node[key]
        if not isinstance(child, (CommentedMap, CommentedSeq)) or not len(child):
            return node, key
        node = child
    return None


def _trailing_comment(node: Any) -> Any:
    owner = _last_key_owner(node)
    if owner is None:
        return None
    container, key = owner
    entry = container.ca.items.get(key)
    slot = 2 if isinstance(container, CommentedMap) else 0
    return entry[slot] if entry and len(entry) > slot else None


def _set_trailing_comment(node: Any, comment: Any) -> None:
    owner = _last_key_owner(node)
    if owner is None:
        return
    container, key = owner
    slot = 2 if isinstance(container, CommentedMap) else 0
    entry = container.ca.items.setdefault(key, [None, None, None, None])
    while len(entry) <= slot:
        entry.append(None)
    entry[slot] = comment


def _dump(yaml: YAML, data: Any) -> str:
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()
