"""A semantic diff of two rendered trees, by resource and field, for pull-request review.

`git diff` of YAML shows lines; a reviewer wants "devstral-2: minReplicas 0 -> 1". Resources are
matched by apiVersion group, kind, namespace and name, wherever their file lives.
"""

from __future__ import annotations

import difflib
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.diagnostics import format_path
from generator.errors import UsageError
from generator.output.tree import OUTPUT_ROOT, is_generated
from generator.render.common import Tree

Key = tuple[str, str, str, str]  # group, kind, namespace, name


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ResourceChange:
    key: Key
    change: str  # added | removed | changed
    fields: tuple[FieldChange, ...] = ()

    @property
    def label(self) -> str:
        _, kind, namespace, name = self.key
        return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _key(doc: dict[str, Any]) -> Key:
    group = str(doc.get("apiVersion", "")).rpartition("/")[0]
    meta = doc.get("metadata") or {}
    return group, str(doc.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", ""))


# A Job's name carries a hash of its input (a changed Job must run again): one Job under a new name.
_CONTENT_NAMED = re.compile(r"^(?P<base>.+)-[0-9a-f]{8}$")


def _identity(key: Key) -> Key:
    group, kind, namespace, name = key
    match = _CONTENT_NAMED.match(name) if kind == "Job" else None
    return (group, kind, namespace, f"{match['base']}-*") if match else key


def resources(tree: Tree) -> dict[Key, dict[str, Any]]:
    return {_identity(_key(doc)): doc for docs in tree.values() for doc in docs if doc.get("kind") != "Kustomization"}


class Item(str):
    """A list item named by its identity (`flavors[nvidia-l4-4gpu]`), not by its position."""


# Lists whose items Kubernetes and Kueue identify by a field: containers, env, volumes, flavors and their
# resources by name, tolerations and taints by key, resource groups by the resources they cover.
_IDENTITIES = ("name", "key", "coveredResources")


def _identity_of(item: Any, field: str) -> str:
    value = item.get(field) if isinstance(item, dict) else None
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _item_names(items: list[Any]) -> list[str] | None:
    for field in _IDENTITIES:
        if all(isinstance(i, dict) and field in i for i in items):
            names = [_identity_of(i, field) for i in items]
            if len(set(names)) == len(names):
                return names
    return None


def field_path(parts: tuple[str | int, ...]) -> str:
    """('spec', Item('gpu'), 'x') -> 'spec[gpu].x'; other keys as the diagnostics spell them."""
    out = ""
    for part in parts:
        if isinstance(part, Item) or isinstance(part, int):
            out += f"[{part}]"
        else:
            out += format_path((part,)) if not out else format_path(("_", part))[1:]
    return out


def _flatten(value: Any, path: tuple[str | int, ...], out: dict[str, Any]) -> None:
    if isinstance(value, str) and value[:1] in "[{" and value.rstrip().endswith(("]", "}")):
        try:  # JSON carried in a ConfigMap (models.json) is compared field by field too
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _flatten(child, (*path, key), out)
        return
    names = _item_names(value) if isinstance(value, list) and value else None
    if names is not None:
        for name, child in zip(names, value, strict=True):
            _flatten(child, (*path, Item(name)), out)
    else:
        out[field_path(path)] = value


def compare(old: Tree, new: Tree) -> list[ResourceChange]:
    before, after = resources(old), resources(new)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if key not in before:
            changes.append(ResourceChange(key, "added"))
        elif key not in after:
            changes.append(ResourceChange(key, "removed"))
        else:
            a: dict[str, Any] = {}
            b: dict[str, Any] = {}
            _flatten(before[key], (), a)
            _flatten(after[key], (), b)
            fields = tuple(FieldChange(p, a.get(p), b.get(p)) for p in sorted(a.keys() | b.keys()) if a.get(p) != b.get(p))
            if fields:
                changes.append(ResourceChange(key, "changed", fields))
    return changes


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value) if not isinstance(value, str) else value
    if "\n" in text.rstrip("\n"):
        return f"({len(text.splitlines())} lines)"
    return text if len(text) <= 70 else text[:67] + "..."


def _field_lines(field: FieldChange) -> list[str]:
    if isinstance(field.old, list) and isinstance(field.new, list):
        removed = [v for v in field.old if v not in field.new]
        added = [v for v in field.new if v not in field.old]
        if removed or added:
            return [f"    {field.path}:"] + [f"      - {_short(v)}" for v in removed] + [f"      + {_short(v)}" for v in added]
        return [f"    {field.path}: reordered"]
    if isinstance(field.old, str) and isinstance(field.new, str) and "\n" in field.old + field.new:
        old, new = field.old.splitlines(), field.new.splitlines()
        changed = sum(1 for line in difflib.ndiff(old, new) if line[:1] in "+-")
        return [f"    {field.path}: {changed} line(s) changed"]
    return [f"    {field.path}: {_short(field.old)} -> {_short(field.new)}"]


QUEUE_LABEL = 'metadata.labels["kueue.x-k8s.io/queue-name"]'
_QUOTA = re.compile(r"^spec\.resourceGroups\[[^\]]*\]\.flavors\[(?P<flavor>[^\]]*)\]\.resources\[(?P<resource>[^\]]*)\]"
                    r"\.(?P<field>nominalQuota|borrowingLimit|lendingLimit)$")


def quota_story(change: ResourceChange, field: FieldChange) -> str | None:
    """`ClusterQueue q: nvidia-l4-4gpu nvidia.com/gpu nominalQuota 4 -> 8` (or a Cohort's) for a quota field, else
    None."""
    match = _QUOTA.match(field.path) if change.key[1] in ("ClusterQueue", "Cohort") else None
    if match is None:
        return None
    return (f"{change.key[1]} {change.key[3]}: {match['flavor']} {match['resource']} {match['field']} "
            f"{_short(field.old)} -> {_short(field.new)}")


PROFILE_NAME = 'metadata.annotations["opendatahub.io/hardware-profile-name"]'


def hardware_profile_notes(changes: list[ResourceChange]) -> list[str]:
    """The dashboard HardwareProfiles the InferenceServices name from now on: objects this tree does not hold (unless
    it renders them, with teams), which must exist when Argo CD syncs."""
    rendered = {c.key[3] for c in changes if c.key[1] == "HardwareProfile" and c.change == "added"}
    named: dict[str, list[tuple[str, str]]] = {}
    for change in changes:
        if change.key[1] != "InferenceService":
            continue
        for field in change.fields:
            if field.path == PROFILE_NAME and isinstance(field.new, str) and field.new != field.old:
                named.setdefault(field.new, []).append((change.key[3], str(field.old) if field.old else "none"))
    notes = []
    for profile, models in sorted(named.items()):
        was = sorted({old for _, old in models})
        where = ("this tree adds it" if profile in rendered else
                 "the dashboard's object, not this tree's: it must exist before the sync "
                 "(`python -m generator runbook prerequisites` checks it)")
        notes.append(f"HardwareProfile {profile}: now named by {', '.join(sorted(m for m, _ in models))} (before: "
                     f"{', '.join(was)}); {where}")
    return notes


def review_notes(changes: list[ResourceChange]) -> list[str]:
    """What a reviewer must know that the fields alone do not say: changes the cluster will refuse, objects it needs."""
    notes = hardware_profile_notes(changes)
    for change in changes:
        for field in change.fields:
            if field.path == QUEUE_LABEL and field.old is not None:
                notes.append(f"{change.label}: the queue label changes ({field.old} -> {field.new}); Kueue refuses to change "
                             "the queue of an admitted workload: stop the model (state: queued), let Argo CD sync, then "
                             "change the queue and switch it on again")
    return notes


def diff_text(changes: list[ResourceChange]) -> str:
    if not changes:
        return "no changes\n"
    lines = []
    for change in changes:
        mark = {"added": "+", "removed": "-", "changed": "~"}[change.change]
        stories = [story for story in (quota_story(change, f) for f in change.fields) if story]
        rest = [f for f in change.fields if quota_story(change, f) is None]
        lines += [f"{mark} {story}" for story in stories]
        if rest or not stories:
            lines.append(f"{mark} {change.label}")
        for field in rest:
            lines += _field_lines(field)
    counts = {c: sum(x.change == c for x in changes) for c in ("added", "changed", "removed")}
    lines += [f"! {note}" for note in review_notes(changes)]
    lines.append(f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} removed")
    return "\n".join(lines) + "\n"


def diff_data(changes: list[ResourceChange], *, notes: list[str] | None = None) -> dict[str, object]:
    return {"changes": [{"group": c.key[0], "kind": c.key[1], "namespace": c.key[2], "name": c.key[3], "change": c.change,
                         "fields": [{"path": f.path, "old": f.old, "new": f.new} for f in c.fields]} for c in changes],
            "notes": review_notes(changes) + (notes or [])}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the files were written by PyYAML: read them as it does


def _parse(files: dict[str, str]) -> Tree:
    tree: Tree = {}
    for path, text in sorted(files.items()):
        try:
            tree[path] = [d for d in yaml.load_all(text, Loader=_LOADER) if isinstance(d, dict)]
        except yaml.YAMLError as error:
            raise UsageError(f"{path}: not YAML: {error}") from error
    return tree


def tree_from_directory(root: Path) -> Tree:
    base = root / OUTPUT_ROOT
    if not base.is_dir():
        raise UsageError(f"--against {root}: no {OUTPUT_ROOT}/ folder there")
    return _parse({p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
                   for p in sorted(base.rglob("*.yaml")) if is_generated(p)})


def tree_from_git(repository: Path, revision: str) -> Tree:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True).stdout
        except (OSError, subprocess.CalledProcessError) as error:
            raise UsageError(f"--against {revision}: not a directory nor a git revision of {repository}") from error

    listing = [line.split("\t", 1) for line in git("ls-tree", "-r", revision, "--", OUTPUT_ROOT).splitlines()]
    blobs = [(meta.split()[2], name) for meta, name in listing if name.endswith(".yaml") and meta.split()[1] == "blob"]
    # One `git cat-file --batch` for every file: a process per file costs seconds on a large tree.
    try:
        out = subprocess.run(["git", "-C", str(repository), "cat-file", "--batch"], capture_output=True, check=True,
                             input="".join(f"{sha}\n" for sha, _ in blobs).encode()).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        raise UsageError(f"--against {revision}: cannot read its files from git") from error
    files, offset = {}, 0
    for _, name in blobs:
        header_end = out.index(b"\n", offset)
        size = int(out[offset:header_end].split()[2])
        files[name] = out[header_end + 1:header_end + 1 + size].decode("utf-8")
        offset = header_end + 1 + size + 1  # the content is followed by a newline
    return _parse(files)


def file_from_git(repository: Path, revision: str, path: str) -> str | None:
    """A file's text at a revision, or None when it is not there."""
    try:
        return subprocess.run(["git", "-C", str(repository), "show", f"{revision}:{path}"], capture_output=True,
                              text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
