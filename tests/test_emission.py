"""Strings stay strings: whatever string the portfolio accepts is read back as that same string by every reader of
the tree: PyYAML (YAML 1.1), ruamel (YAML 1.2) and `kubectl kustomize` (kyaml on go-yaml v3), whose output is what
Argo CD applies.

The property test draws STRINGS_PER_EXAMPLE values (and a few keys) per example, so the loaded hypothesis profile's
example count decides how many strings are tried: 2,500 in CI (100 examples), 250 in the fast run.
"""

from __future__ import annotations

import math
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from ruamel.yaml.constructor import SafeConstructor

from conftest import MINIMAL_TEXT, examples
from generator.errors import DiagnosticsError
from generator.model.fields import ENV_NAME, LABEL_KEY
from generator.model.portfolio import Portfolio
from generator.output.scalars import go_yaml_v3_non_string, needs_quotes
from generator.output.serialize import PURE_DUMPER, dump_documents
from generator.pipeline import Prepared, prepare

STRINGS_PER_EXAMPLE = 25
KEYS_PER_EXAMPLE = 8
BASE = yaml.safe_load(MINIMAL_TEXT)
ISVC = "gitops/demo-serving/base/inference/tiny.yaml"

# The strings the first probe found changing type, and their neighbours in every resolver's grammar.
TRICKY = [
    "0o17", "0O17", "09", "0777", "010", "1e3", "1E3", "1e-3", "+1e3", "70544e5", "7054400", "0x1F", "0X1f", "-0x1",
    "0b101", "-0b1", "1_000", "1__0", "_1", "1_", "+12", "-0", "+.5", ".5", "7.", "1.", "1.5e10", "6.8523015e+5",
    ".inf", "-.inf", "+.INF", ".Inf", ".nan", ".NaN", ".NAN", "1:20", "190:20:30", "-1:30", "1:20.5", "2024-01-01",
    "2024-1-2", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10", "2001-12-15T02:59:43.1Z", "2024-13-45",
    "y", "Y", "n", "N", "yes", "Yes", "YES", "yEs", "no", "NO", "on", "On", "ON", "off", "Off", "OFF", "true", "True",
    "TRUE", "tRUE", "false", "FALSE", "null", "Null", "NULL", "nULL", "~", "=", "<<", "", " ", "-", ".", "..", "...",
    "---", "- a", "? a", ": a", "a: b", "a #b", "#a", "&a", "*a", "!a", "!!str", "%a", "@a", "`a", "|", ">", "'", '"',
    "[a]", "{a}", "a,b", "main", "v1.2.3", "70544e5x", "1.2.3", "12abc", "e3", "0x", "0o", "0b", "0xG", "1e",
]

_WORDS = ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
any_case = st.sampled_from(_WORDS).flatmap(
    lambda w: st.tuples(*[st.sampled_from([c.lower(), c.upper()]) for c in w]).map("".join))
numeric = st.from_regex(r"[-+]?(0[xXoObB])?[0-9a-fA-F_]{1,8}(\.[0-9_]{0,4})?([eE][-+]?[0-9]{1,3})?", fullmatch=True)
sexagesimal = st.from_regex(r"[-+]?[0-9]{1,3}(:[0-5]?[0-9]){1,3}(\.[0-9]{0,3})?", fullmatch=True)
timestamp = st.from_regex(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,4})?"
                          r"(Z|[-+][0-9]{2}(:[0-9]{2})?)?)?", fullmatch=True)
git_sha = st.from_regex(r"[0-9a-f]{7,12}", fullmatch=True)
# Any character a YAML file can carry (the loader refuses control characters, YAML007: see test_loader.py).
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t\r"), max_size=30)
STRINGS = st.one_of(st.sampled_from(TRICKY), any_case, numeric, sexagesimal, timestamp, git_sha, text)
ENV_KEYS = st.one_of(any_case, st.from_regex(ENV_NAME, fullmatch=True).filter(lambda k: len(k) < 20))
# Keys kustomize cannot carry are refused (ANN002); test_annotation_key_rule_matches_kustomize holds that rule.
ANNOTATION_KEYS = st.one_of(any_case, git_sha, st.from_regex(r"[0-9]{1,4}[a-z][a-z0-9]{0,4}", fullmatch=True)).filter(
    lambda k: _matches(LABEL_KEY, k) and not go_yaml_v3_non_string(k))


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern.strip("^$"), value) is not None


# go-yaml's timestamp layouts: 2006-1-2T15:4:5.999999999Z07:00 (T or t), 2006-1-2 15:4:5.999999999 and 2006-1-2.
_GO_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?"
                           r"(?:Z|[-+][0-9]{2}:[0-9]{2})| [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?)?")


def _go_like_loader() -> YAML:
    """ruamel's YAML 1.2 reader, for kustomize's output, read as go-yaml (which wrote it) reads it: go-yaml has no `=`
    value type, leaves `<<` a string outside a key, and takes an impossible date (2024-13-45) or a float beyond float64
    (1e400) for a string, and reads as timestamps only its own layouts (a time needs a zone after T), so kustomize
    writes these plain; every Go reader downstream reads them as strings."""
    loader = YAML(typ="safe", pure=True)

    class Constructor(SafeConstructor):
        def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
            if not _GO_TIMESTAMP.fullmatch(str(self.construct_scalar(node))):
                return self.construct_scalar(node)
            try:
                return super().construct_yaml_timestamp(node, values)
            except ValueError:
                return self.construct_scalar(node)

        def construct_yaml_int(self, node: Any) -> Any:
            try:
                return super().construct_yaml_int(node)
            except ValueError:  # `-_`: go-yaml drops the '_', finds no number and keeps the string (kustomize writes it plain)
                return self.construct_scalar(node)

        def construct_yaml_float(self, node: Any) -> Any:
            try:
                value = super().construct_yaml_float(node)
            except ValueError:  # `._`, likewise
                return self.construct_scalar(node)
            spelled = str(self.construct_scalar(node))
            return spelled if math.isinf(value) and "inf" not in spelled.lower() else value

    Constructor.add_constructor("tag:yaml.org,2002:timestamp", Constructor.construct_yaml_timestamp)
    Constructor.add_constructor("tag:yaml.org,2002:float", Constructor.construct_yaml_float)
    Constructor.add_constructor("tag:yaml.org,2002:int", Constructor.construct_yaml_int)

    Constructor.add_constructor("tag:yaml.org,2002:value", SafeConstructor.construct_yaml_str)
    Constructor.add_constructor("tag:yaml.org,2002:merge", SafeConstructor.construct_yaml_str)
    loader.Constructor = Constructor
    return loader


def _readers() -> dict[str, Any]:
    ruamel = YAML(typ="safe", pure=True)  # YAML 1.2 unless a document says otherwise
    return {
        "PyYAML (YAML 1.1)": lambda text: list(yaml.load_all(text, Loader=yaml.SafeLoader)),
        "libyaml (YAML 1.1)": lambda text: list(yaml.load_all(text, Loader=yaml.CSafeLoader)),
        "ruamel (YAML 1.2)": lambda text: list(ruamel.load_all(text)),
    }


def _portfolio(values: list[str], env_keys: list[str], annotation_keys: list[str], folder: Path) -> Prepared | None:
    """The portfolio with the strings in it, written as YAML and loaded as the user's file is; None when refused."""
    data = yaml.safe_load(MINIMAL_TEXT)
    env = {f"V{i}": v for i, v in enumerate(values)} | {k: values[0] for k in env_keys}
    annotations = {f"example.com/a{i}": v for i, v in enumerate(values)} | {k: values[-1] for k in annotation_keys}
    data["modelDefaults"]["env"] = env
    data["models"][0]["annotations"] = annotations
    # two free-text fields that must not be blank (and hold at most 1,024 characters) take a value when it fits them
    data["models"][0]["displayName"] = values[1] if values[1].strip() else "Tiny"
    data["gitops"]["targetRevision"] = values[2] if values[2].strip() else "main"
    data["gitops"]["application"] = "demo-serving"
    path = folder / "portfolio.yaml"
    path.write_text(yaml.dump(data, Dumper=PURE_DUMPER, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        return prepare(path, display_name="portfolio.yaml")
    except DiagnosticsError as error:
        event("refused: " + ", ".join(sorted({d.rule for d in error.diagnostics})))
        return None


def _wanted(portfolio: Portfolio) -> dict[str, Any]:
    model = portfolio.models[0]
    return {"env": dict(portfolio.model_defaults.env), "annotations": dict(model.annotations),
            "displayName": model.display_name, "targetRevision": portfolio.gitops.target_revision}


def _found(isvc: dict[str, Any], application: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    annotations = isvc["metadata"]["annotations"]
    return {"env": {e["name"]: e.get("value") for e in isvc["spec"]["predictor"]["model"]["env"]},
            "annotations": {k: annotations.get(k) for k in wanted["annotations"]},
            "displayName": annotations["openshift.io/display-name"],
            "targetRevision": application["spec"]["source"]["targetRevision"]}


def _check(prepared: Prepared, folder: Path, kubectl: str) -> None:
    portfolio, tree = prepared.portfolio, prepared.tree
    application = next(path for path in tree if path.startswith("gitops/argocd/app-of-apps/demo-serving"))
    files = {"isvc.yaml": dump_documents(tree[ISVC]), "application.yaml": dump_documents(tree[application])}
    assert files["isvc.yaml"] == dump_documents(tree[ISVC], dumper=PURE_DUMPER)
    wanted = _wanted(portfolio)
    for name, read in _readers().items():
        found = _found(read(files["isvc.yaml"])[0], read(files["application.yaml"])[0], wanted)
        assert found == wanted, f"{name} reads the emitted strings differently"
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "kustomization.yaml").write_text("resources:\n- isvc.yaml\n- application.yaml\n", encoding="utf-8")
    built = subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, text=True, check=False)
    assert built.returncode == 0, built.stderr
    documents = {d["kind"]: d for d in _go_like_loader().load_all(built.stdout)}
    found = _found(documents["InferenceService"], documents["Application"], wanted)
    assert found == wanted, "the strings changed on their way through kubectl kustomize"


def test_every_tricky_string_survives_every_reader_and_kustomize(tmp_path: Path, kubectl: str) -> None:
    keys = [k for k in TRICKY if _matches(LABEL_KEY, k) and not go_yaml_v3_non_string(k)]  # the others are ANN002
    env_keys = [k for k in TRICKY if _matches(ENV_NAME, k)]
    for start in range(0, len(TRICKY), STRINGS_PER_EXAMPLE):
        values = TRICKY[start:start + STRINGS_PER_EXAMPLE]
        values += ["main"] * (3 - len(values))
        folder = tmp_path / str(start)
        folder.mkdir()
        prepared = _portfolio(values, env_keys, keys, folder)
        assert prepared is not None, values
        _check(prepared, folder, kubectl)
    assert len(keys) > 15 and len(env_keys) > 20


# 100 examples of 25 strings in CI (2,500 strings, each through every reader and kustomize); a tenth in the fast run.
@settings(max_examples=examples(100), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(values=st.lists(STRINGS, min_size=STRINGS_PER_EXAMPLE, max_size=STRINGS_PER_EXAMPLE),
       env_keys=st.lists(ENV_KEYS, max_size=KEYS_PER_EXAMPLE), annotation_keys=st.lists(ANNOTATION_KEYS, max_size=KEYS_PER_EXAMPLE))
def test_accepted_strings_are_read_back_as_the_same_strings(tmp_path_factory: pytest.TempPathFactory, kubectl: str,
                                                            values: list[str], env_keys: list[str],
                                                            annotation_keys: list[str]) -> None:
    folder = tmp_path_factory.mktemp("emitted")
    prepared = _portfolio(values, env_keys, annotation_keys, folder)
    event("refused" if prepared is None else "accepted")
    if prepared is None:  # the portfolio's checks refused one of them: not an accepted string
        return
    _check(prepared, folder, kubectl)


@pytest.mark.parametrize("value", ["0o17", "09", "1e3", "70544e5", "1:20", "2024-1-2", "yEs", "1_000", "=", "<<", ".NaN",
                                   "_", "-_", "._", "0b_"])
def test_the_rule_quotes_what_some_reader_misreads(value: str) -> None:
    assert needs_quotes(value)
    assert dump_documents([{"v": value}]).endswith(f"v: '{value}'\n")


@pytest.mark.parametrize("value", ["main", "v1.2.3", "12abc", "e3", "1.2.3", "g6.12xlarge", "64Gi", "--port=8080"])
def test_strings_no_reader_misreads_stay_plain(value: str) -> None:
    assert not needs_quotes(value)
    assert dump_documents([{"v": value}]).endswith(f"v: {value}\n")


def test_the_annotation_key_rule_refuses_exactly_the_keys_kustomize_breaks(tmp_path: Path, kubectl: str) -> None:
    """ANN002 is not a guess: each key it refuses makes `kubectl kustomize` fail, each key it lets through builds."""
    keys = [k for k in TRICKY if _matches(LABEL_KEY, k)]

    def builds(key: str) -> bool:
        folder = tmp_path / f"k{keys.index(key)}"
        folder.mkdir()
        document = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "annotations": {key: "v"}}}
        (folder / "cm.yaml").write_text(dump_documents([document]), encoding="utf-8")
        (folder / "kustomization.yaml").write_text("resources:\n- cm.yaml\n", encoding="utf-8")
        return subprocess.run([kubectl, "kustomize", str(folder)], capture_output=True, check=False).returncode == 0

    refused = [k for k in keys if go_yaml_v3_non_string(k)]
    assert len(refused) > 10 and len(keys) - len(refused) > 15
    assert [k for k in keys if builds(k) == go_yaml_v3_non_string(k)] == []
