"""Hierarchical cohorts end to end, on the 20-team example (valid/teams): the review of a change to the tree, the
runbook's fair-sharing prerequisite, and the simulator's reading of the rendered Cohorts."""

from __future__ import annotations

from pathlib import Path

from conftest import load_named, load_text, portfolio_path
from generator.output.semantic_diff import compare, diff_text
from generator.review.summary import Side, markdown_summary
from generator.runbook import build_runbook
from generator.runbook.formats import to_shell

POOL = "  - flavor: nvidia-l4-4gpu\n    gpus: 4\n    lendingLimit: 4\n"


def changed(tmp_path: Path) -> tuple[Side, Side, str]:
    """product gives up its pool node's quota, and team-20 moves to research."""
    old = load_named("teams")
    text = portfolio_path("teams").read_text(encoding="utf-8").replace(POOL, POOL.replace("gpus: 4", "gpus: 0"))
    head, _, tail = text.rpartition("- name: team-20\n")
    text = head + "- name: team-20\n" + tail.replace("  cohort: product\n", "  cohort: research\n", 1)
    new = load_text(tmp_path, text)
    changes = compare(old.tree, new.tree)
    before, after = Side.of(old.portfolio, old.tree), Side.of(new.portfolio, new.tree)
    return before, after, markdown_summary(before, after, changes, base="HEAD") + diff_text(changes)


def test_the_review_tells_a_change_of_the_cohort_tree(tmp_path: Path) -> None:
    _, _, text = changed(tmp_path)
    assert ("| product | under gpuaas; nvidia-l4-4gpu 4 lend<=4 | under gpuaas; nvidia-l4-4gpu 0 lend<=4 |" in text)
    assert "| team-20 | product | research |" in text
    assert "~ Cohort product: nvidia-l4-4gpu nvidia.com/gpu nominalQuota 4 -> 0" in text
    assert "Fair sharing:" not in text  # unchanged


def test_the_review_says_when_fair_sharing_changes(tmp_path: Path) -> None:
    old = load_named("teams")
    new = load_text(tmp_path, portfolio_path("teams").read_text(encoding="utf-8").replace("  fairSharing: true\n", "")
                    .replace("  weight: 2\n", ""))
    text = markdown_summary(Side.of(old.portfolio, old.tree), Side.of(new.portfolio, new.tree),
                            compare(old.tree, new.tree), base="HEAD")
    assert "Fair sharing: on -> off (a cluster setting: the Kueue configuration must match)." in text
    assert "| research | under gpuaas; nvidia-l4-4gpu 0 lend<=4; weight 2 | under gpuaas; nvidia-l4-4gpu 0 lend<=4 |" in text


def _prerequisites(portfolio: object, tree: object) -> str:
    [section] = build_runbook(portfolio, tree, [], only="prerequisites")  # type: ignore[arg-type]
    return to_shell("Runbook", [section], default=["prerequisites"])


def test_the_runbook_checks_the_cluster_runs_the_preemption_policy_the_portfolio_says(tmp_path: Path) -> None:
    fair = load_named("teams")
    assert "preemptionPolicy\": \"FairSharing\"" in _prerequisites(fair.portfolio, fair.tree)
    classical = load_text(tmp_path, portfolio_path("teams").read_text(encoding="utf-8").replace("  fairSharing: true\n", "")
                          .replace("  weight: 2\n", ""))
    text = _prerequisites(classical.portfolio, classical.tree)
    assert "preemptionPolicy\": \"Classical\"" in text and "'!=' FairSharing" in text
    demo = load_named("default")  # one namespace, one queue: nothing to share, nothing checked
    assert "preemptionPolicy" not in _prerequisites(demo.portfolio, demo.tree)
