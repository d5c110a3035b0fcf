"""The runbook in three forms that say the same thing: markdown, a shell script, a notebook."""

from __future__ import annotations

import json

from generator.runbook import Section


def to_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", ""]
    for section in sections:
        out += [f"## {section.title}", "", section.intro, ""]
        for block in section.blocks:
            if block.text:
                out += [block.text, ""]
            if block.commands:
                note = [] if block.runnable else ["# simulated only: shown for reference, not to run"]
                out += ["```sh", *note, *(c.line for c in block.commands), "```", ""]
            for command in block.commands:
                if command.expect:
                    out += [f"Expected after `{command.line}`:", "", "```text", command.expect, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def to_notebook(title: str, sections: list[Section]) -> str:
    import nbformat
    from nbformat import v4

    cells = [v4.new_markdown_cell(f"# {title}\n\nRun each cell in order; every command is generated from "
                                  "`portfolio.yaml` and the rendered `gitops/` tree.")]
    for section in sections:
        cells.append(v4.new_markdown_cell(f"## {section.title}\n\n{section.intro}"))
        for block in section.blocks:
            if block.text:
                cells.append(v4.new_markdown_cell(block.text))
            if block.commands:
                source = "\n".join(f"!{c.line}" for c in block.commands)
                cells.append(v4.new_code_cell(source if block.runnable else "# simulated only\n# " + source.replace("\n", "\n# ")))
            expected = [c for c in block.commands if c.expect]
            if expected:
                cells.append(v4.new_markdown_cell("\n\n".join(
                    f"Expected after `{c.line}`:\n\n```text\n{c.expect}\n```" for c in expected)))
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    # Stable cell ids: the same portfolio gives the same notebook, byte for byte.
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index:03d}"
    nbformat.validate(notebook)
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
