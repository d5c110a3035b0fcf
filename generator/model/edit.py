"""Edits of the portfolio file that keep everything else byte for byte: comments, layout, quoting."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from generator.errors import UsageError

_PLAIN_TOKEN = re.compile(r"[^\s#,\[\]{}]+")


@dataclass(frozen=True)
class Change:
    model: str
    old: str
    new: str


def _token_end(line: str, start: int) -> int:
    """Where the scalar that starts at `start` ends: after its closing quote, or at the end of a plain token."""
    quote = line[start:start + 1]
    if quote in ("'", '"'):
        end = line.find(quote, start + 1)
        while quote == "'" and end != -1 and line[end + 1:end + 2] == "'":  # '' is an escaped quote
            end = line.find(quote, end + 2)
        if end == -1:
            raise UsageError(f"cannot edit the value at column {start + 1}: its quotes do not close on the line")
        return end + 1
    match = _PLAIN_TOKEN.match(line, start)
    return match.end() if match else start


def set_model_states(text: str, states: dict[str, str]) -> tuple[str, list[Change]]:
    """`text` with each named model's `state` replaced, in the quoting style it had; and what changed."""
    root: Any = YAML(typ="rt").load(text)
    models = root.get("models") if isinstance(root, CommentedMap) else None
    if not isinstance(models, CommentedSeq):
        raise UsageError("the portfolio has no models list to edit")
    where: dict[str, tuple[int, int, str]] = {}
    for model in models:
        if isinstance(model, CommentedMap) and "state" in model and isinstance(model.get("name"), str):
            line, column = model.lc.value("state")
            where[model["name"]] = (line, column, str(model["state"]))
    unknown = [name for name in states if name not in where]
    if unknown:
        raise UsageError(f"unknown model {unknown[0]!r}; models: {', '.join(where)}")
    lines = text.splitlines(keepends=True)
    changes = []
    for name, new in states.items():
        line, column, old = where[name]
        if old == new:
            continue
        current = lines[line]
        end = _token_end(current, column)
        quote = current[column] if current[column] in ("'", '"') else ""
        lines[line] = current[:column] + quote + new + quote + current[end:]
        changes.append(Change(name, old, new))
    return "".join(lines), changes


@dataclass(frozen=True)
class NewExpectation:
    scenario: int
    step: int
    model: str
    state: str
    flavor: str | None


def set_expectations(text: str, updates: list[NewExpectation]) -> str:
    """`text` with the scenario expectations replaced, comments and layout kept (a ruamel round trip).

    Refuses (UsageError) when even an unchanged round trip would reformat the file: then nothing is rewritten.
    """
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString
    from ruamel.yaml.util import load_yaml_guess_indent

    _, guessed, offset = load_yaml_guess_indent(text)
    # (mapping, sequence, offset) layouts seen in portfolios; the first whose unchanged round trip is exact wins
    layouts = [(2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (guessed or 2, guessed or 2, offset or 0)]
    for mapping, sequence, dash in layouts:
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(mapping=mapping, sequence=sequence, offset=dash)
        if _dump(yaml, yaml.load(text)) == text:
            break
    else:
        raise UsageError("portfolio.yaml cannot be rewritten without changing its layout elsewhere; edit the expectations "
                         "by hand (`python -m generator scenarios` shows them)")
    root = yaml.load(text)
    for update in updates:
        expect = root["scenarios"][update.scenario]["steps"][update.step]["expect"]
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
    return _dump(yaml, root)


def _dump(yaml: YAML, data: Any) -> str:
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()
