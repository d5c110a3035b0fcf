"""Rules of the cohort tree (portfolio `cohorts`, teams' `cohort`, fair-sharing weights): one function per rule id.

Kueue accepts a tree these rules reject, and then misbehaves quietly: a parentName naming no Cohort creates an
empty one, a cycle of parents deactivates every ClusterQueue under it, and limits on a root Cohort are refused by
its webhook only at apply time.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.diagnostics import Problem
from generator.model.derive import cohort_parent, team_cohort
from generator.model.portfolio import Portfolio


def _known(portfolio: Portfolio) -> list[str]:
    return list(dict.fromkeys([portfolio.kueue.cohort, *(c.name for c in portfolio.cohorts)]))


def cohorts_are_consistent(portfolio: Portfolio) -> Iterator[Problem]:
    """COH001: cohorts need teams; names are unique; a parent or a team's cohort names a declared cohort or the root
    (kueue.cohort); the root names no parent; a cohort's quota names declared flavors, once each."""
    known = _known(portfolio)
    flavors = [f.name for f in portfolio.flavors]
    if portfolio.cohorts and not portfolio.teams:
        yield Problem(("cohorts",), "COH001", "cohorts divide GPUs between teams: declare teams (each naming its cohort)",
                      at_key=True)
    seen: dict[str, int] = {}
    for index, cohort in enumerate(portfolio.cohorts):
        where = ("cohorts", index)
        if cohort.name in seen:
            yield Problem((*where, "name"), "COH001", f"cohort {cohort.name!r} is already declared at cohorts[{seen[cohort.name]}]")
        seen.setdefault(cohort.name, index)
        if cohort.name == portfolio.kueue.cohort and cohort.parent is not None:
            yield Problem((*where, "parent"), "COH001",
                          f"cohort {cohort.name!r} is the root of the tree (kueue.cohort): it has no parent")
        elif cohort.parent is not None and cohort.parent not in known:
            yield Problem((*where, "parent"), "COH001",
                          f"unknown cohort {cohort.parent!r}; cohorts: {', '.join(known)} (Kueue would create an empty one)")
        listed: set[str] = set()
        for q_index, quota in enumerate(cohort.quota):
            if quota.flavor not in flavors:
                yield Problem((*where, "quota", q_index, "flavor"), "COH001",
                              f"unknown flavor {quota.flavor!r}; flavors: {', '.join(flavors)}")
            elif quota.flavor in listed:
                yield Problem((*where, "quota", q_index, "flavor"), "COH001",
                              f"flavor {quota.flavor!r} is listed twice for cohort {cohort.name!r}")
            listed.add(quota.flavor)
    for index, team in enumerate(portfolio.teams):
        if team.cohort is not None and team.cohort not in known:
            yield Problem(("teams", index, "cohort"), "COH001", f"unknown cohort {team.cohort!r}; cohorts: {', '.join(known)}")


def no_cohort_cycle(portfolio: Portfolio) -> Iterator[Problem]:
    """COH002: following parents from a cohort never leads back to it (Kueue deactivates every ClusterQueue under a
    cycle until it is removed)."""
    parents = {c.name: cohort_parent(c, portfolio) for c in portfolio.cohorts}
    reported: set[str] = set()
    for index, cohort in enumerate(portfolio.cohorts):
        path = [cohort.name]
        current = parents.get(cohort.name)
        while current is not None and current not in path:
            path.append(current)
            current = parents.get(current)
        if current == cohort.name and cohort.name not in reported:
            reported.update(path)
            yield Problem(("cohorts", index, "parent"), "COH002",
                          f"cohort {cohort.name!r} is its own ancestor ({' -> '.join([*path, cohort.name])}): Kueue stops "
                          "admitting in every ClusterQueue under a cycle; give one of them another parent")


def root_has_no_limits(portfolio: Portfolio) -> Iterator[Problem]:
    """COH003: lending and borrowing limits apply between a cohort and its parent; Kueue refuses them on the root."""
    for index, cohort in enumerate(portfolio.cohorts):
        if cohort_parent(cohort, portfolio) is not None:
            continue
        for q_index, quota in enumerate(cohort.quota):
            for field, value in (("borrowingLimit", quota.borrowing_limit), ("lendingLimit", quota.lending_limit)):
                if value is not None:
                    yield Problem(("cohorts", index, "quota", q_index, field), "COH003",
                                  f"{field} on the root cohort {cohort.name!r}: it has no parent to lend to or borrow "
                                  "from, and Kueue's webhook rejects the Cohort; remove it")


def _subtree_quota(portfolio: Portfolio, root: str, flavor: str) -> int:
    """GPUs of a flavor given to a cohort and everything under it (its own quota, its teams', its sub-cohorts')."""
    children = [c for c in portfolio.cohorts if cohort_parent(c, portfolio) == root and c.name != root]
    own = sum(q.gpus for c in portfolio.cohorts if c.name == root for q in c.quota if q.flavor == flavor)
    teams = sum(q.gpus for t in portfolio.teams if team_cohort(t, portfolio) == root for q in t.quota if q.flavor == flavor)
    return own + teams + sum(_subtree_quota(portfolio, c.name, flavor) for c in children)


def tree_fits_the_flavors(portfolio: Portfolio) -> Iterator[Problem]:
    """COH004: a subtree cannot hold more of a flavor than the flavor has: each cohort's quota, its teams' and its
    sub-cohorts' add up to at most the flavor's quota, and so do all teams' and cohorts' together."""
    if not portfolio.cohorts or any(True for _ in no_cohort_cycle(portfolio)):
        return
    for f_index, flavor in enumerate(portfolio.flavors):
        over = False
        for index, cohort in enumerate(portfolio.cohorts):
            given = _subtree_quota(portfolio, cohort.name, flavor.name)
            if given > flavor.quota.gpus:
                over = True
                yield Problem(("cohorts", index, "quota"), "COH004",
                              f"cohort {cohort.name!r} and the teams and cohorts under it hold {given} GPUs of "
                              f"{flavor.name}, more than the flavor's {flavor.quota.gpus}; lower their quotas or raise the "
                              "flavor's", at_key=True)
        teams = sum(q.gpus for t in portfolio.teams for q in t.quota if q.flavor == flavor.name)
        everything = teams + sum(q.gpus for c in portfolio.cohorts for q in c.quota if q.flavor == flavor.name)
        if not over and teams <= flavor.quota.gpus < everything:  # teams alone over it are PF017's
            yield Problem(("flavors", f_index, "quota", "gpus"), "COH004",
                          f"teams and cohorts hold {everything} GPUs of {flavor.name} together, more than the flavor's "
                          f"{flavor.quota.gpus}; lower a cohort's quota or raise the flavor's")


def cohort_quota_has_teams(portfolio: Portfolio) -> Iterator[Problem]:
    """COH005 (warning): a cohort with GPUs of its own and no team anywhere under it: only its parent's teams can use
    them, by borrowing, and the root's can be used by nobody."""
    for index, cohort in enumerate(portfolio.cohorts):
        if not any(q.gpus for q in cohort.quota):
            continue
        below = {cohort.name}
        grew = True
        while grew:
            more = {c.name for c in portfolio.cohorts if cohort_parent(c, portfolio) in below} - below
            grew = bool(more)
            below |= more
        if not any(team_cohort(t, portfolio) in below for t in portfolio.teams):
            yield Problem(("cohorts", index, "quota"), "COH005",
                          f"cohort {cohort.name!r} holds GPUs but no team is under it: its GPUs are only lent to the "
                          "cohorts above; put teams under it or move the quota", at_key=True)


def weights_need_fair_sharing(portfolio: Portfolio) -> Iterator[Problem]:
    """COH006 (warning): fair-sharing weights do nothing unless the cluster's Kueue runs with fair sharing."""
    if portfolio.kueue.fair_sharing:
        return
    weighted = [(("cohorts", i, "weight"), c.name) for i, c in enumerate(portfolio.cohorts) if c.weight is not None]
    weighted += [(("teams", i, "weight"), t.name) for i, t in enumerate(portfolio.teams) if t.weight is not None]
    for path, name in weighted:
        yield Problem(path, "COH006", f"the weight of {name!r} only counts with fair sharing: set kueue.fairSharing: "
                      "true (the cluster's Kueue must run with preemptionPolicy FairSharing)")


COHORT_RULES = (cohorts_are_consistent, no_cohort_cycle, root_has_no_limits, tree_fits_the_flavors,
                cohort_quota_has_teams, weights_need_fair_sharing)
