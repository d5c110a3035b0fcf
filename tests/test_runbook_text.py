"""Portfolio text in the runbook is text: it opens no code block in the markdown or the notebook, and a model name
always makes valid shell variables (a name may start with a digit; a shell variable may not)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from markdown_it import MarkdownIt
from test_notebook import _stand_ins

from conftest import DEMO, load_text
from generator.admission.scenarios import run_all
from generator.runbook import build_runbook
from generator.runbook.formats import SIMULATED_NOTE, to_markdown, to_notebook, to_shell
from generator.runbook.model import Section, shell_variable

FENCE = "```sh\ntouch /tmp/RUNBOOK-PWNED\n```"
HOSTILE_TITLE = f'"Stop the model\\n{FENCE.replace(chr(10), chr(92) + "n")}\\n    indented code\\n<script>alert(1)</script>"'
HOSTILE_STORY = '"```sh\\nrm -rf ~\\n~~~\\n`"'


def _hostile_demo() -> str:
    text = DEMO.read_text(encoding="utf-8")
    text = text.replace("      - title: Enable Devstral-2 while the 4-GPU node is busy", f"      - title: {HOSTILE_TITLE}", 1)
    start = text.index("    description: >-\n", text.index("scenarios:"))
    end = text.index("\n    steps:", start)
    return text[:start] + f"    description: {HOSTILE_STORY}" + text[end:]


def _sections(tmp_path: Path, text: str) -> list[Section]:
    loaded = load_text(tmp_path, text)
    return build_runbook(loaded.portfolio, loaded.tree, run_all(loaded.portfolio, loaded.tree))


def _generated_blocks(sections: list[Section]) -> list[str]:
    """The code blocks the runbook means to have, in order: each block's commands, then each expected output."""
    from generator.runbook.formats import _shell_line

    wanted = []
    for section in sections:
        for block in section.blocks:
            if block.commands:
                note = [SIMULATED_NOTE] if block.mode == "simulated" else []
                wanted.append("\n".join([*note, *(_shell_line(c) for c in block.commands)]) + "\n")
            wanted += [c.expect + "\n" for c in block.commands if c.expect]
    return wanted


def test_portfolio_text_opens_no_code_block_in_the_markdown(tmp_path: Path) -> None:
    sections = _sections(tmp_path, _hostile_demo())
    assert any("touch /tmp/RUNBOOK-PWNED" in b.text for s in sections for b in s.blocks)
    tokens = MarkdownIt("commonmark").parse(to_markdown("Runbook", sections))
    blocks = [t.content for t in tokens if t.type in ("fence", "code_block")]
    assert blocks == _generated_blocks(sections)  # exactly the generator's blocks: none opened, none cut short
    assert not [t for t in tokens if t.type == "html_block"]
    inline = [t for t in tokens if t.type == "inline" and "Stop the model" in t.content]
    assert inline and "touch /tmp/RUNBOOK-PWNED" in inline[0].content  # the title is there, as text


def test_portfolio_text_opens_no_code_block_in_the_notebook(tmp_path: Path) -> None:
    sections = _sections(tmp_path, _hostile_demo())
    notebook = nbformat.reads(to_notebook("Runbook", sections), as_version=4)
    parser = MarkdownIt("commonmark")
    blocks = [t.content for cell in notebook.cells if cell.cell_type == "markdown"
              for t in parser.parse(cell.source) if t.type in ("fence", "code_block", "html_block")]
    assert blocks == [c.expect + "\n" for s in sections for b in s.blocks for c in b.commands if c.expect]


@pytest.fixture(scope="module")
def shellcheck() -> str:
    found = shutil.which("shellcheck")
    if not found:
        pytest.fail("shellcheck is required (Debian package shellcheck); install it, do not skip these tests")
    return found


def test_a_model_name_starting_with_a_digit_makes_valid_shell_variables(tmp_path: Path, shellcheck: str) -> None:
    text = DEMO.read_text(encoding="utf-8").replace("mistral-3-int4", "3-mistral-int4")
    text = text.replace("  - name: 3-mistral-int4\n", "  - name: 3-mistral-int4\n    exposure: internal\n")
    sections = _sections(tmp_path, text)
    script = tmp_path / "runbook.sh"
    script.write_text(to_shell("Runbook", sections, default=["prerequisites", "deploy", "verify"]), encoding="utf-8")
    body = script.read_text()
    assert "MODEL_3_MISTRAL_INT4_URL=" in body and 'kill "$MODEL_3_MISTRAL_INT4_FORWARD_PID"' in body
    assert shell_variable("mistral-3-int4", "URL") == "MISTRAL_3_INT4_URL"  # names that can stay as they are, do
    checked = subprocess.run([shellcheck, str(script)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout
    env = {"PATH": f"{_stand_ins(tmp_path)}:/usr/bin:/bin", "HOME": str(tmp_path)}
    ran = subprocess.run(["bash", str(script), "smoke-test"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert ran.returncode == 0, ran.stderr
