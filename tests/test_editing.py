"""The commands that edit portfolio.yaml (set-state, scenarios --accept, rename, remove): what build reports they
report the same way, nothing they are fed ends in an internal error, and the file keeps its bytes (line ends, BOM,
comments, layout) except the edit, in the file named."""

from __future__ import annotations

import io
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import DEMO, MINIMAL_TEXT, examples, replace_once
from generator.cli import main
from test_cli_properties import mutate
from test_hardening import BAD_VALUES

DEMO_TEXT = DEMO.read_text(encoding="utf-8")
EDITS = {
    "set-state": ["set-state", "devstral-2=active"],
    "scenarios --accept": ["scenarios", "--accept"],
    "rename": ["rename", "flavor", "nvidia-l4-1gpu", "l4-single"],
    "remove": ["remove", "model", "gpt-oss-20b"],
}
FALSE_STORY = ("          devstral-2: pending\n          mistral-3-bf16: {state: admitted, flavor: nvidia-l4-4gpu}\n",
               "          devstral-2: admitted\n          mistral-3-bf16: {state: admitted, flavor: nvidia-l4-4gpu}\n")

# What a clumsy hand or another tool leaves in the file; each was an internal error of an editing command.
HOSTILE: dict[str, bytes] = {
    "tab-after-colon": replace_once(DEMO_TEXT, "    state: queued\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768",
                                    "    state:\tqueued\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768").encode(),
    "tab-after-colon-false-story": replace_once(
        replace_once(DEMO_TEXT, *FALSE_STORY), "    state: queued\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768",
        "    state:\tqueued\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768").encode(),
    "tab-indentation": DEMO_TEXT.replace("    sizeGB: 44\n", "\tsizeGB: 44\n").encode(),
    "duplicate-key": DEMO_TEXT.replace("namespace: private-ai\n", "namespace: private-ai\nnamespace: other\n").encode(),
    "latin-1": DEMO_TEXT.replace("displayName: Devstral-2 (4-GPU Agentic)", "displayName: Devstral-2 (4-GPU Agentic) é"
                                 ).encode("latin-1"),
    "nul-byte": DEMO_TEXT.replace("# The demo's stories", "# The demo's\0 stories").encode(),
    "two-documents": (DEMO_TEXT + "---\nnamespace: other\n").encode(),
    "undefined-alias": DEMO_TEXT.replace("    start: *baseline\n", "    start: *nowhere\n", 1).encode(),
    "deep-nesting": DEMO_TEXT.replace("namespace: private-ai\n", "namespace: private-ai\nx: " + "[" * 5000 + "]" * 5000 + "\n"
                                      ).encode(),
    "flow-root": b"{namespace: private-ai, models: [}\n",
    "not-a-mapping": b"- a\n- b\n",
    "empty": b"",
}


def _run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("command", sorted(EDITS))
def test_what_build_reports_an_editing_command_reports_the_same(tmp_path: Path, case: str, command: str) -> None:
    path = tmp_path / "portfolio.yaml"
    path.write_bytes(HOSTILE[case])
    build_code, _, build_err = _run(["build", "--check", "--root", str(tmp_path)])
    code, out, err = _run([*EDITS[command], "--root", str(tmp_path)])
    assert code in (0, 1, 2) and "Traceback" not in err and "internal error" not in err, (code, err)
    if build_code == 1 and "error [YAML" in build_err:  # build cannot read the file: the same words
        assert (code, err) == (1, build_err)
    if code == 1:  # refused at a position of the file given (EDIT001 where only the round-trip editor fails)
        assert re.search(rf"{re.escape(path.name)}:\d+:\d+: error \[[A-Z0-9]+\]", err), err
    if code != 0:
        assert path.read_bytes() == HOSTILE[case]


def test_a_file_build_reads_but_the_round_trip_editor_does_not_is_edit001_at_its_place(tmp_path: Path) -> None:
    path = tmp_path / "portfolio.yaml"
    path.write_bytes(HOSTILE["tab-after-colon-false-story"])
    code, _, err = _run(["scenarios", "--accept", "--root", str(tmp_path)])
    line = 1 + HOSTILE["tab-after-colon-false-story"].decode().splitlines().index("    state:\tqueued")
    assert code == 1 and f"portfolio.yaml:{line}:" in err and "error [EDIT001]" in err, err
    assert path.read_bytes() == HOSTILE["tab-after-colon-false-story"]
    code, out, err = _run(["set-state", "devstral-2=active", "--root", str(tmp_path)])  # a scalar edit needs no round trip
    assert code == 1 and "[SCN001]" in err  # and the file's own false story still stops it, as it stops build


@pytest.mark.parametrize("command", sorted(EDITS))
def test_crlf_and_bom_are_kept(tmp_path: Path, command: str) -> None:
    text = replace_once(DEMO_TEXT, *FALSE_STORY)
    lf, crlf = tmp_path / "lf.yaml", tmp_path / "crlf.yaml"
    lf.write_text(text, encoding="utf-8")
    crlf.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    for path in (lf, crlf):
        code, out, err = _run([*EDITS[command], "--portfolio", str(path), "--root", str(tmp_path)])
        assert code in (0, 1), err  # scenarios --accept passes; the others refuse the false story
    edited = lf.read_bytes()
    assert crlf.read_bytes() == b"\xef\xbb\xbf" + edited.replace(b"\n", b"\r\n")
    if command == "scenarios --accept":
        assert edited != text.encode() and b"devstral-2: pending" in edited


def test_messages_name_the_file_given(tmp_path: Path) -> None:
    other = tmp_path / "other-portfolio.yaml"
    other.write_text(replace_once(DEMO_TEXT, *FALSE_STORY), encoding="utf-8")
    code, out, _ = _run(["scenarios", "--accept", "--portfolio", str(other), "--root", str(tmp_path)])
    assert code == 0 and "other-portfolio.yaml: scenario resource-handover, step 1: devstral-2: admitted -> pending" in out
    # a layout no YAML writer reproduces: refused, naming the file given
    odd = replace_once(DEMO_TEXT, *FALSE_STORY).replace("namespace: private-ai\n", "namespace:    private-ai\n")
    other.write_text(odd, encoding="utf-8")
    code, _, err = _run(["scenarios", "--accept", "--portfolio", str(other), "--root", str(tmp_path)])
    assert code == 1 and "other-portfolio.yaml:1:1: error [EDIT001]" in err and "portfolio.yaml:" not in err.replace(
        "other-portfolio.yaml:", "")


def test_a_symlinked_portfolio_is_edited_in_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_text(DEMO_TEXT, encoding="utf-8")
    (tmp_path / "portfolio.yaml").symlink_to(target)
    code, _, err = _run(["set-state", "devstral-2=active", "--root", str(tmp_path)])
    assert code == 0, err
    assert (tmp_path / "portfolio.yaml").is_symlink() and "name: devstral-2" in target.read_text()
    assert target.read_text(encoding="utf-8") == replace_once(
        DEMO_TEXT, "    gpus: 4\n    state: queued\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768",
        "    gpus: 4\n    state: active\n    vllm:\n      dtype: bfloat16\n      maxModelLen: 32768")


def test_stdin_is_refused_by_the_commands_that_write_the_file(tmp_path: Path) -> None:
    for args in EDITS.values():
        code, _, err = _run([*args, "--portfolio", "-", "--root", str(tmp_path)])
        assert code == 2 and "name the file with --portfolio" in err


@settings(max_examples=examples(200), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.data(), st.sampled_from(sorted(EDITS)))
def test_any_portfolio_through_the_editing_commands_gives_0_1_or_2(tmp_path: Path, data: st.DataObject,
                                                                   command: str) -> None:
    path = tmp_path / "portfolio.yaml"
    text = mutate(data, DEMO_TEXT.splitlines(keepends=True))
    path.write_text(text, encoding="utf-8")
    code, out, err = _run([*EDITS[command], "--root", str(tmp_path)])
    assert code in (0, 1, 2), err
    assert "Traceback" not in err + out and "internal error" not in err
    if code != 0:
        assert path.read_text(encoding="utf-8") == text  # refused: nothing written


MINIMAL_EDITS = {
    "set-state": ["set-state", "tiny=queued"],
    "scenarios --accept": ["scenarios", "--accept"],
    "rename": ["rename", "flavor", "gpu-small", "gpu-one"],
    "remove": ["remove", "model", "tiny"],
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_builds_hostile_values_get_the_builds_diagnostic_from_every_editing_command(tmp_path: Path, case: str) -> None:
    old, new, rule, path = BAD_VALUES[case]
    text = replace_once(MINIMAL_TEXT, old, new)
    (tmp_path / "portfolio.yaml").write_text(text, encoding="utf-8")
    code, _, said = _run(["build", "--root", str(tmp_path)])
    assert code == 1 and f"[{rule}] {path}" in said
    for args in MINIMAL_EDITS.values():
        assert _run([*args, "--root", str(tmp_path)]) == (1, "", said), args
        assert (tmp_path / "portfolio.yaml").read_text(encoding="utf-8") == text


def test_rename_keeps_each_places_quoting_and_quotes_a_name_yaml_would_read_as_a_number(tmp_path: Path) -> None:
    text = replace_once(MINIMAL_TEXT, "    state: active\n", "    state: active\n    flavor: 'gpu-small'\n")
    (tmp_path / "portfolio.yaml").write_text(text, encoding="utf-8")
    code, out, err = _run(["rename", "flavor", "gpu-small", "12345", "--root", str(tmp_path)])
    assert code == 0, err
    assert "2 place(s) rewritten" in out
    assert (tmp_path / "portfolio.yaml").read_text(encoding="utf-8") == replace_once(
        replace_once(text, "  - name: gpu-small\n", '  - name: "12345"\n'), "flavor: 'gpu-small'", "flavor: '12345'")
    for bad in (["rename", "flavor", "12345", "Not_A_Label"], ["rename", "flavor", "nope", "other"],
                ["rename", "model", "tiny", "tiny"], ["remove", "model", "nope"]):
        code, _, err = _run([*bad, "--root", str(tmp_path)])
        assert code == 2 and "error: " in err, (bad, err)
