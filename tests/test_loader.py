"""The loader reports every bad input with its exact position and never raises anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import INVALID, MINIMAL_TEXT, PORTFOLIOS, WARNINGS, examples, problems_in, replace_once
from generator.errors import DiagnosticsError, UsageError
from generator.pipeline import prepare as load_portfolio


def _expected(case: str) -> list[str]:
    return (PORTFOLIOS / "invalid" / case / "expected.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("case", INVALID)
def test_invalid_portfolio_reports_exact_positions(case: str) -> None:
    with pytest.raises(DiagnosticsError) as raised:
        load_portfolio(PORTFOLIOS / "invalid" / case / "portfolio.yaml", display_name="portfolio.yaml")
    got = [f"{d.line}:{d.column} {d.rule} {d.path}".rstrip() for d in raised.value.diagnostics]
    assert got == _expected(case)
    assert all(d.file == "portfolio.yaml" and d.severity == "error" for d in raised.value.diagnostics)


@pytest.mark.parametrize("case", WARNINGS)
def test_warning_fixture_loads_and_reports_exact_positions(case: str) -> None:
    """A warning never stops a command; it is reported at the value it concerns."""
    prepared = load_portfolio(PORTFOLIOS / "warnings" / case / "portfolio.yaml", display_name="portfolio.yaml")
    got = [f"{d.line}:{d.column} {d.severity} {d.rule} {d.path}" for d in prepared.warnings]
    assert got == (PORTFOLIOS / "warnings" / case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert prepared.tree  # rendered all the same


def test_unknown_key_suggests_the_nearest_and_lists_allowed(tmp_path: Path) -> None:
    [unknown] = [d for d in problems_in(tmp_path, replace_once(MINIMAL_TEXT, "    precision:", "    precison:"))
                 if d.rule == "SCH002"]
    assert "did you mean 'precision'?" in unknown.message
    assert "allowed: name, displayName" in unknown.message
    assert (unknown.line, unknown.column) == (39, 5)


def test_all_problems_are_reported_in_one_run_sorted_by_position(tmp_path: Path) -> None:
    text = replace_once(MINIMAL_TEXT, "namespace: demo", "namespace: Demo")
    text = replace_once(text, "    gpus: 1\n    state: active", "    gpus: 0\n    state: running")
    found = problems_in(tmp_path, text)
    assert [(d.line, d.path) for d in found] == [(1, "namespace"), (40, "models[0].gpus"), (41, "models[0].state")]
    assert "'active' or 'queued'" in found[2].message


def test_duplicate_key_points_at_the_second_occurrence(tmp_path: Path) -> None:
    [dup] = problems_in(tmp_path, replace_once(MINIMAL_TEXT, "    provider: Example\n", "    provider: Example\n    provider: Other\n"))
    assert (dup.rule, dup.line, dup.column) == ("YAML002", 35, 5)
    assert '"provider"' in dup.message


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such portfolio file"):
        load_portfolio(tmp_path / "nope.yaml")


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    from generator.model.loader import MAX_FILE_BYTES

    path = tmp_path / "portfolio.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(DiagnosticsError) as raised:
        load_portfolio(path)
    assert raised.value.diagnostics[0].rule == "YAML005"


def test_quantities_are_normalised_to_one_spelling(tmp_path: Path) -> None:
    text = replace_once(MINIMAL_TEXT, 'requests: {cpu: "3", memory: 12Gi}', "requests: {cpu: 3, memory: 12Gi}")
    loaded = load_portfolio(_write(tmp_path, text))
    assert loaded.portfolio.model_defaults.resources[0].requests.cpu == "3"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portfolio.yaml"
    path.write_text(text, encoding="utf-8")
    return path


_yaml_fragments = st.sampled_from([
    "a", ":", " ", "\n", "-", "[", "]", "{", "}", "&x", "*x", "!t", "'", '"', "#", "models", "gpus", "1", "<<",
    "namespace: x\n", "  - name: m\n", "---\n", "? ", "|\n", "\t", "~", "0x1", "1e9", "2024-01-01",
])


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_yaml_fragments, max_size=40).map("".join))
def test_any_input_gives_a_portfolio_or_diagnostics(tmp_path: Path, text: str) -> None:
    try:
        load_portfolio(_write(tmp_path, text))
    except DiagnosticsError as error:
        assert error.diagnostics
        assert all(d.line >= 1 and d.column >= 1 for d in error.diagnostics)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=len(MINIMAL_TEXT) - 1), st.sampled_from(["", "x", ":", "-", " ", "\n", "]"]))
def test_mutated_portfolio_never_raises_anything_else(tmp_path: Path, at: int, insert: str) -> None:
    text = MINIMAL_TEXT[:at] + insert + MINIMAL_TEXT[at + 1:]
    try:
        load_portfolio(_write(tmp_path, text))
    except DiagnosticsError as error:
        assert error.diagnostics


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("      oci: quay.io/example/modelcar-tiny:1.0", "      oci: oci://quay.io/example/modelcar-tiny:1.0",
     "'oci://quay.io/example/modelcar-tiny:1.0' must be an image reference registry/repository[:tag][@sha256:digest], "
     "without oci://"),
    ("    state: active\n", "    state: active\n    vllm:\n      extraArgs: [--chat-template granite]\n",
     "'--chat-template granite' must be one vLLM argument written --flag or --flag=value"),
    ("      oci: quay.io/example/modelcar-tiny:1.0", "      s3Prefix: s3://models/tiny/",
     "'s3://models/tiny/' must be a bucket prefix of lower-case segments separated by '/'"),
])
def test_pattern_errors_say_what_is_allowed(tmp_path: Path, old: str, new: str, expected: str) -> None:
    [problem] = problems_in(tmp_path, replace_once(MINIMAL_TEXT, old, new))
    assert problem.rule == "SCH001" and problem.message.startswith(expected)


@pytest.mark.parametrize("loader", ["CSafeLoader", "SafeLoader"])
def test_plain_scalars_are_read_by_yaml_1_2_as_kubernetes_tools_read_them(loader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from generator.model import yamlread

    monkeypatch.setattr(yamlread, "_LOADER", getattr(yaml, loader))
    text = ("int: 0\nquoted: \"0\"\nyes: yes\non: off\noctal: 0o17\nleading: 0777\nhex: 0x1f\nfloat: 13.5\nexp: 1e3\n"
            "t: true\nf: False\nnull: ~\nempty:\ninf: -.inf\nblock: |\n  x\n")
    assert yamlread.read_yaml(text).data == {
        "int": 0, "quoted": "0", "yes": "yes", "on": "off", "octal": 15, "leading": 777, "hex": 31, "float": 13.5,
        "exp": 1000.0, "t": True, "f": False, None: None, "empty": None, "inf": float("-inf"), "block": "x\n"}
