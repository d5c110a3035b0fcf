"""`diff`: what the change does to the cluster, by resource and field, and (markdown) the portfolio's story."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from generator.commands.common import load, portfolio_path, reads_stdin
from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome
from generator.errors import GeneratorError
from generator.output.semantic_diff import compare, diff_data, diff_text, file_from_git, tree_from_directory, tree_from_git
from generator.pipeline import prepare

if TYPE_CHECKING:
    from generator.render.common import Tree
    from generator.review.summary import Side


def base_side(args: argparse.Namespace, against: Path) -> tuple[Side | None, str | None]:
    """The base's portfolio, loaded and rendered, for the summary; or why it cannot be."""
    from generator.review.summary import Side  # noqa: F811 - at run time, for this command only

    if against.is_dir():
        found = against / "portfolio.yaml"
        text = found.read_text(encoding="utf-8") if found.is_file() else None
    else:
        try:
            relative = "portfolio.yaml" if reads_stdin(args) else \
                portfolio_path(args).resolve().relative_to(args.root.resolve()).as_posix()
        except ValueError:
            relative = portfolio_path(args).name
        text = file_from_git(args.root, args.against, relative)
    if text is None:
        return None, "no portfolio.yaml there"
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "portfolio.yaml").write_text(text, encoding="utf-8")
        try:
            base = prepare(Path(scratch) / "portfolio.yaml", display_name="portfolio.yaml")
        except GeneratorError as error:
            return None, f"it does not load: {error}"
    return Side.of(base.portfolio, base.tree), None


def run(args: argparse.Namespace) -> Outcome:
    loaded = load(args)
    against = Path(args.against)
    old = tree_from_directory(against) if against.is_dir() else tree_from_git(args.root, args.against)
    changes = compare(old, loaded.tree)
    code = EXIT_PROBLEMS if args.exit_code and changes else EXIT_OK
    if args.format == "markdown":
        from generator.review.summary import Side, markdown_summary

        base, problem = base_side(args, against)
        text = markdown_summary(base, Side.of(loaded.portfolio, loaded.tree), changes, base=args.against,
                                base_problem=problem)
    else:
        text = diff_text(changes)
    counts = {c: sum(x.change == c for x in changes) for c in ("added", "changed", "removed")}
    stale = on_disk_note(args, loaded.tree)
    return Outcome("diff", code, text=text, note=stale, diagnostics=loaded.warnings, summary=counts,
                   result=diff_data(changes, notes=[stale] if stale else []))


def on_disk_note(args: argparse.Namespace, tree: Tree) -> str:
    """Why a hand edit of gitops/ is not in this diff, when there is one: the diff compares what portfolio.yaml renders."""
    from generator.output.tree import OUTPUT_ROOT, diff_tree

    if not (args.root / OUTPUT_ROOT).is_dir() or not diff_tree(tree, args.root):
        return ""
    return (f"note: {OUTPUT_ROOT}/ on disk differs from what the portfolio renders (a hand edit, or no build since the "
            "last edit); this diff compares the rendered tree, which Argo CD will get once it is built: "
            "`python -m generator build --check` shows the difference")
