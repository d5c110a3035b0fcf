"""The runbook in three forms that say the same thing: markdown, a shell script, a notebook."""

from __future__ import annotations

import json

from generator.runbook.model import Block, Command, Section, sh

SIMULATED_NOTE = "# simulated only: shown for reference, not to run"


def _shell_line(command: Command) -> str:
    if command.unless:
        return f"if ! {{ {command.unless}; }} >/dev/null 2>&1; then {command.line}; fi"
    return command.line


def _expectations(block: Block) -> list[str]:
    out = []
    for command in block.commands:
        if command.expect:
            shown = command.line if len(command.line) <= 80 else command.line[:72].rstrip() + " …"
            out += [f"Expected after `{shown}`:", "", "```text", command.expect, "```", ""]
    return out


def to_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", "", "Generated from `portfolio.yaml` and the rendered `gitops/` tree; do not edit by hand.", ""]
    for section in sections:
        out += [f"## {section.title}", "", section.intro, ""]
        for block in section.blocks:
            if block.text:
                out += [block.text, ""]
            if block.commands:
                note = [SIMULATED_NOTE] if block.mode == "simulated" else []
                out += ["```sh", *note, *(_shell_line(c) for c in block.commands), "```", ""]
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


def to_notebook(title: str, sections: list[Section]) -> str:
    import nbformat
    from nbformat import v4

    cells = [v4.new_markdown_cell(f"# {title}\n\nRun the cells in order; every command is generated from "
                                  "`portfolio.yaml` and the rendered `gitops/` tree. Secret values come from the "
                                  "kernel's environment (MINIO_ACCESS_KEY, MINIO_SECRET_KEY, HF_TOKEN).")]
    for section in sections:
        cells.append(v4.new_markdown_cell(f"## {section.title}\n\n{section.intro}"))
        for block in section.blocks:
            if block.text:
                cells.append(v4.new_markdown_cell(block.text))
            if block.commands:
                lines = [_shell_line(c) for c in block.commands]
                if block.mode == "simulated":
                    lines = [SIMULATED_NOTE, *(f"# {line}" for line in lines)]
                cells.append(v4.new_code_cell("%%bash\nset -euo pipefail\n" + "\n".join(lines)))
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
