"""`validate` beside the real API server (Kubernetes 1.33.13, the upstream CRDs with their CEL rules): the trees
apply, and the documents `validate` refuses are the ones the API server refuses, both ways, with counts.

One box for the module: etcd and the API server, with the CRDs of the kinds the trees emit (no controller: nothing
here needs one, and with no Kueue there is no conversion webhook: see the first test). The trees are the demo and
teams fixtures and the environments fixture with each of its environments (`--env NAME`). Cases are made by
generator.sandbox.mutations from the trees' own documents and from the smallest valid objects; the verdicts and the
named legitimate differences are generator.sandbox.parity's. `-s` prints the counts.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import PORTFOLIOS, UPSTREAM_CRDS
from generator.checks.cel import Rule, _is_transition, _places, _rules, apply_defaults
from generator.checks.core_enums import CORE_ENUMS
from generator.checks.crds import CrdCatalog
from generator.checks.validate import is_kustomization
from generator.commands.common import environment
from generator.pipeline import prepare
from generator.render.common import Tree
from generator.sandbox.box import Box
from generator.sandbox.build import ensure_built
from generator.sandbox.errors import ToolMissing
from generator.sandbox.kube import Etcd, KubeApiServer
from generator.sandbox.mutations import Case, RuleSearch, Seed, View, minimal_object, schema_cases, schema_rules, search_rule
from generator.sandbox.parity import (
    Tally,
    apply_tree,
    beyond_the_schemas,
    core_view,
    dump,
    judge,
    object_meta_view,
    our_verdict,
    published_enums,
    remove_tree,
    updates,
)
from generator.sandbox.prereqs import crd_documents, establish_crds

FIXTURES = ("demo", "teams", "environments")
MINIMAL_NAMESPACE = "parity-minimal"
STARTED = time.monotonic()


def _trees() -> list[tuple[str, Tree]]:
    """Each fixture's tree, and each of its environments' (the base with the environment's overlay)."""
    found = []
    for fixture in FIXTURES:
        loaded = prepare(PORTFOLIOS / "valid" / fixture / "portfolio.yaml", display_name="portfolio.yaml")
        for env in [None, *(e.name for e in loaded.portfolio.environments)]:
            found.append((fixture if env is None else f"{fixture} --env {env}", environment(loaded, env)[1]))
    return found


TREES = _trees()


def _documents(tree: Tree) -> list[dict[str, Any]]:
    return [d for path in sorted(tree) for d in tree[path] if not is_kustomization(d)]


def _seeds() -> dict[tuple[str, str], list[Seed]]:
    """(apiVersion, kind) -> the distinct documents of the trees of that kind, each named where it was first met."""
    found: dict[tuple[str, str], dict[str, Seed]] = {}
    for label, tree in TREES:
        for doc in _documents(tree):
            meta = doc["metadata"]
            name = f"{label}: {doc['kind']} {meta.get('namespace') + '/' if meta.get('namespace') else ''}{meta['name']}"
            found.setdefault((doc["apiVersion"], doc["kind"]), {}).setdefault(dump(doc), (name, doc))
    return {key: list(docs.values()) for key, docs in sorted(found.items())}


SEEDS = _seeds()


def _fresh(seeds: list[Seed]) -> list[Seed]:
    """Seeds whose objects the first test leaves behind, under names of their own: that test applies the trees'
    Namespaces for real and cannot delete them (the box runs no namespace controller), and a case's object must
    not exist (a dry-run apply of an object that exists is an update)."""
    return [(f"{label} (as parity-{doc['metadata']['name']})",
             {**doc, "metadata": {**doc["metadata"], "name": f"parity-{doc['metadata']['name']}"}})
            if doc["kind"] == "Namespace" else (label, doc) for label, doc in seeds]
CUSTOM = [key for key in SEEDS if core_view(key[1], key[0]) is None]
CORE = [key for key in SEEDS if key not in CUSTOM]


class TheTreesCrds:
    """A component: the upstream CRDs of the kinds the trees emit, Established."""

    name = "crds"

    def start(self, box: Box) -> None:
        kinds = {kind for _, kind in CUSTOM}
        establish_crds(box, [c for c in crd_documents([UPSTREAM_CRDS]) if c["spec"]["names"]["kind"] in kinds])


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory, upstream_crds: Path) -> Iterator[Box]:
    try:
        bin_dir = ensure_built(lambda line: None)
    except ToolMissing as error:
        pytest.fail(f"the box tier needs Go; this tier is never skipped: {error}")
    started = time.monotonic()
    box = Box(tmp_path_factory.mktemp("parity") / "box", bin_dir=bin_dir, progress=lambda line: None)
    took = box.start([Etcd(), KubeApiServer(), TheTreesCrds()])
    print(f"\nparity box up in {time.monotonic() - started:.1f} s ("
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in took.items()) + ")")
    try:
        yield box
    finally:
        box.stop()
        print(f"parity module: {time.monotonic() - STARTED:.1f} s")


@pytest.fixture(scope="module")
def catalog(upstream_crds: Path) -> CrdCatalog:
    return CrdCatalog.from_dirs([upstream_crds])


def _minimal(key: tuple[str, str], catalog: CrdCatalog, box: Box) -> Seed:
    version = catalog.find(*key)
    assert version is not None and version.openapi is not None
    _, body = box.request("GET", f"/apis/{key[0]}")
    namespaced = next(r["namespaced"] for r in body["resources"] if r["kind"] == key[1])
    return f"the smallest {key[1]}", minimal_object(key[0], key[1], View(version.openapi),
                                                      MINIMAL_NAMESPACE if namespaced else None)


def test_every_tree_applies_server_side_and_only_the_v1beta1_cohort_is_lost_without_kueue(box: Box) -> None:
    """Every document of every tree is applied for real and read back. Without Kueue in the box its CRDs convert
    v1beta1 to the v1beta2 storage with strategy None (no conversion webhook): the API server validates the v1beta1
    object, then stores it as v1beta2 with only the apiVersion changed and prunes what v1beta2 does not know, so a
    ClusterQueue's spec.cohort (v1beta2: cohortName) is accepted and silently dropped. On a cluster, Kueue's webhook
    converts it (tests/box/test_kueue_kserve.py runs Kueue); here the loss is named, and nothing else may be lost."""
    _, crd = box.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clusterqueues.kueue.x-k8s.io")
    assert crd["spec"]["conversion"] == {"strategy": "None"}
    assert [v["name"] for v in crd["spec"]["versions"] if v["storage"]] == ["v1beta2"]
    total = 0
    for label, tree in TREES:
        documents = _documents(tree)
        applied = apply_tree(box, documents)
        try:
            refused = [f"{a.name}: {a.verdict.message}" for a in applied if a.verdict.refused]
            assert refused == [], f"{label}: the API server refused:\n" + "\n".join(refused)
            lost = {a.name: a.lost for a in applied if a.lost}
            expected = {a.name: ["spec.cohort"] for a in applied
                        if a.document["apiVersion"] == "kueue.x-k8s.io/v1beta1" and "cohort" in (a.document.get("spec") or {})}
            assert lost == expected, f"{label}: fields the API server did not keep as sent"
            for name in expected:  # stored as v1beta2 with no cohortName: really lost, not renamed
                _, stored = box.request("GET", f"/apis/kueue.x-k8s.io/v1beta2/clusterqueues/{name.split()[-1]}")
                assert "cohortName" not in stored["spec"] and "cohort" not in stored["spec"]
            kinds = sorted({a.document["kind"] for a in applied})
            print(f"{label}: {len(applied)} documents applied server-side ({len(kinds)} kinds), "
                  f"{len(expected)} ClusterQueue(s) lost spec.cohort to the None conversion")
            total += len(applied)
        finally:
            remove_tree(box, documents)
    assert total > 300


def test_the_enums_k8s001_checks_are_the_ones_the_api_server_publishes(box: Box) -> None:
    served = published_enums(box)
    assert served == CORE_ENUMS, ("generator/checks/core_enums.py differs from the API server's OpenAPI v3; "
                                  f"it serves:\n{served!r}")


def _rules_validate_evaluates() -> set[tuple[str, str, str]]:
    """(kind, place, rule) of every CEL rule validate evaluates on the trees (its "N CEL rules checked")."""
    catalog = CrdCatalog.from_dirs([UPSTREAM_CRDS])
    found = set()
    for key in CUSTOM:
        version = catalog.find(*key)
        assert version is not None and version.openapi is not None
        for _, document in SEEDS[key]:
            stored = apply_defaults(copy.deepcopy(document), version.openapi)
            for path, _, place in _places(stored, version.openapi, ()):
                for rule in _rules(place):
                    if not _is_transition(rule):
                        where = ".".join("*" if isinstance(p, int) else str(p) for p in path)
                        found.add((key[1], where, rule.rule))
    return found


def test_every_cel_rule_is_enforced_by_the_api_server_as_validate_evaluates_it(box: Box, catalog: CrdCatalog) -> None:
    """For every CEL rule of the CRD versions the trees emit (those validate evaluates on the trees among them), a
    document validate says breaks it: the API server must refuse it with the rule's message, accept the document it
    was made from, and judge every other single edit tried on the way as validate does."""
    searches: list[RuleSearch] = []
    transition = []
    for key in CUSTOM:
        version = catalog.find(*key)
        assert version is not None and version.openapi is not None
        root = View(version.openapi)
        seeds = [*SEEDS[key], _minimal(key, catalog, box)]
        for place, rule in schema_rules(root):
            if _is_transition(Rule(str(rule["rule"]), "", "", "")):
                transition.append((key[1], ".".join(place), rule["rule"]))  # updates only: test_updates
                continue
            searches.append(search_rule(key[1], place, rule, root, seeds, lambda d: our_verdict(d, catalog)))
    unbroken = [f"{s.kind} {s.place}: {s.text}" for s in searches if s.breaking is None]
    assert unbroken == [], "rules no mutation was found to break:\n" + "\n".join(unbroken)
    covered = {(s.kind, s.place, s.text) for s in searches}
    evaluated = _rules_validate_evaluates()
    assert evaluated and evaluated <= covered, evaluated - covered

    breaking = [s.breaking for s in searches if s.breaking is not None]
    results = judge(box, catalog, [*breaking, *(c for s in searches for c in s.cases)])
    rules = results[:len(breaking)]
    tally = Tally().add(results)
    disagreed = [r for r in rules if not r.agreed]
    print(f"\nCEL rules: {len(searches)} covered ({len(evaluated)} of them evaluated by validate on the trees, "
          f"{len(transition)} more apply to updates only), {len(rules) - len(disagreed)} agreed, {len(disagreed)} disagreed")
    for result in rules:
        print(f"  {'agreed' if result.agreed else 'DISAGREED'}: {result.case.kind} {result.case.describe()}")
    print(tally.summary("CEL rules, with the documents they were made from and every edit tried"))
    assert disagreed == [] and tally.unexplained == [], tally.summary("unexplained")
    assert all(r.server.refused and r.case.rule_message and r.case.rule_message in r.server.message for r in rules)
    assert [r for r in results if r.case.family == "baseline" and r.server.refused] == []


def test_crd_schema_mutations_are_judged_alike(box: Box, catalog: CrdCatalog) -> None:
    """For every custom kind: a wrong type, an unknown field, a missing required field, a value outside an enum, a
    pattern or a bound, a repeated item of a list kept as a set or map, at every place of the trees' documents; the
    same of their metadata, as ObjectMeta; and the smallest object of each kind, which both accept."""
    cases: list[Case] = []
    meta = object_meta_view()
    for key in CUSTOM:
        version = catalog.find(*key)
        assert version is not None and version.openapi is not None
        cases += schema_cases(SEEDS[key], View(version.openapi), metadata=meta)
        minimal = _minimal(key, catalog, box)
        cases.append(Case("baseline", "the smallest object", minimal[0], minimal[1]))
    results = judge(box, catalog, cases)
    tally = Tally().add(results)
    print("\n" + _by_family(results) + "\n" + tally.summary("CRD schemas"))
    assert tally.unexplained == [] and tally.legitimate == {}
    assert [r.case.kind for r in results if r.case.family == "baseline" and r.server.refused] == []
    assert {"wrong type", "unknown field", "missing required field", "invalid enum", "pattern", "out of bounds",
            "duplicate item"} <= {c.family for c in cases}


def test_core_schema_mutations_are_judged_alike(box: Box, catalog: CrdCatalog) -> None:
    """For every core kind the trees emit: the same mutations against Kubernetes 1.33's OpenAPI (K8S001)."""
    cases: list[Case] = []
    for key in CORE:
        view = core_view(key[1], key[0])
        assert view is not None
        cases += schema_cases(_fresh(SEEDS[key]), view)
    results = judge(box, catalog, cases)
    tally = Tally().add(results)
    print("\n" + _by_family(results) + "\n" + tally.summary("core kinds (K8S001)"))
    assert tally.unexplained == [] and tally.legitimate == {}
    assert {"wrong type", "unknown field", "missing required field", "invalid enum", "duplicate item"} <= \
        {c.family for c in cases}


def test_what_no_schema_holds_is_named_and_updates(box: Box, catalog: CrdCatalog) -> None:
    """What the API server checks beyond any schema (its Go validation, quantities, names) and on updates only
    (transition rules, immutable fields): every disagreement is one of the named legitimate differences."""
    by_kind = {key[1]: _fresh(seeds) for key, seeds in SEEDS.items()}
    cases = [*beyond_the_schemas(by_kind), *updates(by_kind, catalog)]
    results = judge(box, catalog, cases)
    tally = Tally().add(results)
    print("\n" + tally.summary("beyond the schemas, and updates"))
    assert tally.unexplained == []
    assert {c.expect for c in cases if c.expect} <= set(tally.legitimate), "a named difference no longer shows"


def _by_family(results: list[Any]) -> str:
    counts: dict[tuple[str, str], list[int]] = {}
    for result in results:
        entry = counts.setdefault((result.case.kind, result.case.family), [0, 0, 0])
        entry[0] += 1
        entry[1] += result.agreed
        entry[2] += result.agreed and result.server.refused
    return "\n".join(f"  {kind} {family}: {n} cases, {agreed} agreed ({refused} refused by both)"
                     for (kind, family), (n, agreed, refused) in sorted(counts.items()))
