"""`rename flavor|model|team OLD NEW`: rename it and every reference to it in portfolio.yaml, nothing else changed."""

from __future__ import annotations

import argparse
import re

from generator.commands.editing import PortfolioFile
from generator.console import EXIT_OK, Outcome
from generator.diagnostics import format_path
from generator.errors import UsageError
from generator.model.edit import rename_edits, replace_scalars
from generator.model.fields import DNS1123_LABEL
from generator.model.portfolio import Portfolio


def consequences(portfolio: Portfolio, kind: str, old: str, new: str) -> list[str]:
    """What the rename does on the cluster beyond the names, for the reviewer."""
    if kind == "flavor":
        namespace = portfolio.cluster.hardware_profile_namespace
        owned = " (the tree renders it, with teams)" if portfolio.teams else \
            "; it is the dashboard's, not this tree's: create it before syncing (`runbook prerequisites` checks it)"
        return [f"the ResourceFlavor and the ClusterQueue's quota move from {old} to {new}; the InferenceServices "
                f"now name the HardwareProfile {namespace}/{new}{owned}"]
    if kind == "team":
        team = next(t for t in portfolio.teams if t.name == old)
        if team.namespace is None:
            return [f"team {old} had no namespace of its own, so its models move from namespace {old} to {new} (Argo CD "
                    f"deletes and recreates them); add `namespace: {old}` to the team to keep them where they are"]
        return [f"its ClusterQueue is renamed from {old} to {new}; its namespace {team.namespace} stays"]
    return [f"the InferenceService {old} is deleted and {new} created (its served model name changes too)"]


def run(args: argparse.Namespace) -> Outcome:
    kind, old, new = args.kind, args.old, args.new
    if not re.fullmatch(DNS1123_LABEL, new) or len(new) > 63:
        raise UsageError(f"{new!r} is not a valid {kind} name: lower-case letters, digits and '-', at most 63 characters")
    file = PortfolioFile.read(args)
    plain, source, portfolio = file.load()
    declared = {"flavor": [f.name for f in portfolio.flavors], "model": [m.name for m in portfolio.models],
                "team": [t.name for t in portfolio.teams]}
    names = declared[kind]
    if old not in names:
        raise UsageError(f"unknown {kind} {old!r}; {kind}s: {', '.join(names) or 'none declared'}")
    if new in names:
        raise UsageError(f"a {kind} named {new!r} exists already")
    edits = rename_edits(plain, source, kind, old, new)
    new_text = replace_scalars(file.text, edits, file.name)
    warnings = file.check(new_text, args)
    file.write(new_text)
    places = sorted({(e.line, e.column): e for e in edits}.items())
    lines = [f"{file.name}: {kind} {old} -> {new}: {len(places)} place(s) rewritten"]
    lines += [f"  {file.name}:{line}:{column} {format_path(e.path)}" for (line, column), e in places]
    lines += [f"note: {n}" for n in consequences(portfolio, kind, old, new)]
    return Outcome("rename", EXIT_OK, text="\n".join(lines) + "\n", diagnostics=warnings)
