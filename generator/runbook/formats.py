"""The runbook in three forms that say the same thing: markdown, a shell script, a notebook."""

from __future__ import annotations

import json
import re

from generator.runbook.model import Block, Command, Section, sh

SIMULATED_NOTE = "# simulated only: shown for reference, not to run"


def _shell_line(command: Command) -> str:
    if command.unless:
        return f"if ! {{ {command.unless}; }} >/dev/null 2>&1; then {command.line}; fi"
    return command.line


_BACKTICKS = re.compile(r"`+")
_BREAKS = re.compile(r"\s*[\n\r\v\f\x85\u2028\u2029]\s*")


def _fenced(language: str, lines: list[str]) -> list[str]:
    """A fenced block no line of it can close: the fence is longer than any run of backticks inside."""
    longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def _code_span(text: str) -> str:
    """Inline code that holds any text: on one line, between more backticks than it contains."""
    text = _BREAKS.sub(" ", text)
    ticks = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _prose(text: str) -> str:
    """A paragraph of text that may carry portfolio values: one line, so that nothing in it starts a line (a fence, an
    indented block, an HTML block, a heading), and its first character escaped when it could open one."""
    text = _BREAKS.sub(" ", text).strip()
    return "\\" + text if text[:1] in "`~#<>-+*=|_[" and text else text


def _expectations(block: Block) -> list[str]:
    out = []
    for command in block.commands:
        if command.expect:
            shown = command.line if len(command.line) <= 80 else command.line[:72].rstrip() + " …"
            out += [f"Expected after {_code_span(shown)}:", "", *_fenced("text", command.expect.splitlines()), ""]
    return out


def to_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", "", "Generated from `portfolio.yaml` and the rendered `gitops/` tree; do not edit by hand.", ""]
    for section in sections:
        out += [f"## {_prose(section.title)}", "", _prose(section.intro), ""]
        for block in section.blocks:
            if block.text:
                out += [_prose(block.text), ""]
            if block.commands:
                note = [SIMULATED_NOTE] if block.mode == "simulated" else []
                out += [*_fenced("sh", [*note, *(_shell_line(c) for c in block.commands)]), ""]
            out += _expectations(block)
    return "\n".join(out).rstrip() + "\n"


def _comment(text: str, indent: str = "  ") -> list[str]:
    return [f"{indent}# {line}".rstrip() for line in text.splitlines()]


def to_shell(title: str, sections: list[Section], *, default: list[str]) -> str:
    """A bash script: one function per section; with no argument (or `one-shot`) it runs `default`."""
    out = [
        "#!/usr/bin/env bash",
        f"# {title}: generated from portfolio.yaml by `python -m generator runbook --format sh`; do not edit.",
        "# Waits are bounded `oc wait` calls; secret values come from the environment (MINIO_ACCESS_KEY,",
        "# MINIO_SECRET_KEY, HF_TOKEN), never from this file.",
        "set -euo pipefail",
        "",
    ]
    for section in sections:
        out += [f"{section.function}() {{", f"  {sh('echo', f'== {section.title}')}"]
        for block in section.blocks:
            if block.mode != "run":
                continue
            out += _comment(block.text)
            for command in block.commands:
                out.append(f"  {_shell_line(command)}")
                if command.expect:
                    out += _comment("expect: " + command.expect)
        out += ["}", ""]
    names = {s.key: s.function for s in sections}
    out += ["main() {", '  case "${1:-one-shot}" in']
    if all(k in names for k in default):
        out.append(f"    one-shot) {'; '.join(names[k] for k in default)} ;;")
    for key, function in names.items():
        out.append(f'    {sh(key.replace(" ", "-"))}) {function} ;;')
    out.append(f"    all) {'; '.join(names.values())} ;;")
    choices = "|".join(["one-shot", *(k.replace(" ", "-") for k in names), "all"])
    out += [f'    *) echo "usage: $0 [{choices}]" >&2; exit 2 ;;', "  esac", "}", "", 'main "$@"', ""]
    return "\n".join(out)


# The notebook's first code cell: one shell state for every cell. A %%bash cell is a process of its own, so a variable
# one step sets (SCENARIO_START, a model's URL) would be gone in the next; a %%runbook cell runs in bash with the
# variables every cell before it set or exported, and its output streams while it runs.
SHELL_MAGIC = """\
import codecs
import os
import subprocess
import tempfile

from IPython.core.magic import register_cell_magic

RUNBOOK_ENV = dict(os.environ)


@register_cell_magic
def runbook(line, cell):
    \"\"\"Run the cell in bash with the variables of the cells before it; keep the ones it sets for the next.\"\"\"
    with tempfile.TemporaryDirectory() as scratch:
        state, log = os.path.join(scratch, "env"), os.path.join(scratch, "log")
        script = "set -a\\n" + cell + "\\nenv -0 > \\"$RUNBOOK_STATE\\"\\n"
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        with open(log, "wb") as out, open(log, "rb") as shown:
            # a file, not a pipe: a command left running in the background (a port-forward) must not hold the cell
            process = subprocess.Popen(["bash", "-c", script], stdout=out, stderr=subprocess.STDOUT,
                                       env={**RUNBOOK_ENV, "RUNBOOK_STATE": state})
            while process.poll() is None:
                print(decoder.decode(shown.read()), end="", flush=True)
                try:  # wakes as soon as the command ends, so a quick cell takes no longer than its command
                    process.wait(timeout=0.2)
                except subprocess.TimeoutExpired:
                    pass
            print(decoder.decode(shown.read(), final=True), end="", flush=True)
        if process.returncode != 0:
            raise RuntimeError(f"the cell stopped with exit code {process.returncode}; fix the cause and run it again")
        with open(state, "rb") as handle:
            variables = dict(item.split("=", 1) for item in handle.read().decode().split("\\0") if "=" in item)
        variables.pop("RUNBOOK_STATE", None)
        RUNBOOK_ENV.clear()
        RUNBOOK_ENV.update(variables)
"""
MAGIC = "%%runbook"


def to_notebook(title: str, sections: list[Section]) -> str:
    import nbformat
    from nbformat import v4

    cells = [v4.new_markdown_cell(f"# {_prose(title)}\n\nRun the cells in order, in a Python 3 kernel; every command is "
                                  "generated from `portfolio.yaml` and the rendered `gitops/` tree. The next cell defines "
                                  f"`{MAGIC}`: each step's cell runs in bash and keeps the variables the cells before it set, "
                                  "as one shell session would. Secret values come from the kernel's environment "
                                  "(MINIO_ACCESS_KEY, MINIO_SECRET_KEY, HF_TOKEN)."),
             v4.new_code_cell(SHELL_MAGIC)]
    for section in sections:
        cells.append(v4.new_markdown_cell(f"## {_prose(section.title)}\n\n{_prose(section.intro)}"))
        for block in section.blocks:
            if block.text:
                cells.append(v4.new_markdown_cell(_prose(block.text)))
            if block.commands:
                lines = [_shell_line(c) for c in block.commands]
                if block.mode == "simulated":
                    lines = [SIMULATED_NOTE, *(f"# {line}" for line in lines)]
                cells.append(v4.new_code_cell(f"{MAGIC}\nset -euo pipefail\n" + "\n".join(lines)))
            expected = _expectations(block)
            if expected:
                cells.append(v4.new_markdown_cell("\n".join(expected).rstrip()))
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    for index, cell in enumerate(notebook.cells):  # stable ids: the same portfolio, the same notebook
        cell["id"] = f"cell-{index:03d}"
    nbformat.validate(notebook)
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
