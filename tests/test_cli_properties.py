"""The whole command-line path on generated input: any portfolio gives a result, diagnostics or a usage error,
never an internal error (exit 3) and never a traceback. 2,000 examples in CI's profile, 100 in the fast run (see the
note at the end)."""

from __future__ import annotations

import io
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import MINIMAL_TEXT, examples
from generator.cli import main

EXAMPLES = examples(2000)
LINES = MINIMAL_TEXT.splitlines(keepends=True)

# What an attacker or a clumsy user puts where a value goes.
VALUES = st.sampled_from([
    "", "0", "-1", "1e308", "1e400", ".inf", "-.inf", ".nan", "2147483648", "9223372036854775808", "99999999999999999999",
    "0x10", "0o17", "1_000", "true", "no", "null", "~", "[]", "{}", "[a, b]", "{a: 1}", "'quoted'", '"dq"', "$(touch x)",
    "`touch x`", "a;b", "a b", "a\\nb", "&anchor x", "*alias", "!!bool x", "!!set {a}", "!!omap [a: 1]", "!!binary aGk=",
    "!!python/object/apply:os.system [ls]", "!custom x", "<<: {}", "|", ">", "é", "\u0000", "a" * 300, "-", ":", "? x",
    "g6.4xlarge", "nvidia.com/gpu", "64Gi", "500m", "http://h:99999", "https://h/p?q=1", "s3://b/p", "oci://r/i:t",
])


def mutate(data: st.DataObject, original: list[str] = LINES) -> str:
    """1 to 4 edits of the lines: a hostile value or key, a line dropped, doubled or indented."""
    lines = list(original)
    for _ in range(data.draw(st.integers(min_value=1, max_value=4), label="edits")):
        index = data.draw(st.integers(min_value=0, max_value=len(lines) - 1), label="line")
        line = lines[index]
        action = data.draw(st.sampled_from(["value", "drop", "duplicate", "indent", "key"]), label="action")
        if action == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[index] = f"{key}: {data.draw(VALUES, label='value')}\n"
        elif action == "drop":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, line)
        elif action == "indent":
            lines[index] = "  " + line
        else:
            lines[index] = line.replace(line.strip().split(":")[0], data.draw(VALUES, label="key"), 1) if line.strip() else line
        if not lines:
            lines = ["\n"]
    return "".join(lines)


RUNS = {"count": 0, "seconds": 0.0, "exits": {}}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                       HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["validate", "plan", "build-check"]))
def test_any_portfolio_through_the_cli_gives_0_1_or_2(tmp_path: Path, data: st.DataObject, command: str) -> None:
    path = tmp_path / "portfolio.yaml"
    path.write_text(mutate(data), encoding="utf-8")
    args = {"validate": ["validate"], "plan": ["plan"], "build-check": ["build", "--check"]}[command]
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*args, "--portfolio", str(path), "--root", str(tmp_path)])
    RUNS["seconds"] += time.perf_counter() - started  # type: ignore[operator]
    RUNS["count"] += 1  # type: ignore[operator]
    RUNS["exits"][code] = RUNS["exits"].get(code, 0) + 1  # type: ignore[index, union-attr, attr-defined]
    assert code in (0, 1, 2), err.getvalue()
    assert "Traceback" not in err.getvalue() + out.getvalue() and "internal error" not in err.getvalue()


def test_the_property_ran_its_examples() -> None:
    """Runs after the property (file order): it really ran the examples it promises, most of them to the end."""
    assert RUNS["count"] >= EXAMPLES, RUNS
    print(f"\nCLI property: {RUNS['count']} examples, exits {RUNS['exits']}, {RUNS['seconds']:.1f}s in the CLI")
