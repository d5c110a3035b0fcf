"""The demo's operating procedure: sections built from the portfolio and the rendered tree."""

from __future__ import annotations

from generator.admission.plan import Cluster
from generator.admission.scenarios import ScenarioRun
from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.runbook import sections as runbook_sections
from generator.runbook.model import SECTIONS, RunbookFacts, Section
from generator.runbook.scenario import scenario_section

__all__ = ["SECTIONS", "build_runbook"]


def build_runbook(portfolio: Portfolio, tree: Tree, runs: list[ScenarioRun], *, only: str | None = None,
                  scenario: str | None = None) -> list[Section]:
    """All sections in operating order, or one (`only`), or one scenario."""
    facts = RunbookFacts(portfolio, tree, Cluster(portfolio, tree).snapshot())
    builders = {
        "prerequisites": runbook_sections.prerequisites,
        "deploy": runbook_sections.deploy,
        "verify": runbook_sections.verify,
        "smoke-test": runbook_sections.smoke_test,
        "troubleshoot": runbook_sections.troubleshoot,
        "cleanup": runbook_sections.cleanup,
    }
    sections: list[Section] = []
    for key in SECTIONS:
        if only is not None and key != only:
            continue
        if key == "scenario":
            sections += [scenario_section(facts, r) for r in runs if scenario is None or r.scenario.name == scenario]
        else:
            sections.append(builders[key](facts))
    return sections
