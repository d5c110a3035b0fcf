"""A scenario of the portfolio replayed on the box step by step, as the runbook enacts it, beside `plan`.

The runbook switches a model by its InferenceService's `serving.kserve.io/stop` annotation, never by scaling: by
default the model's `state` changes in Git and Argo CD applies the re-rendered InferenceService (here: a server-side
apply of the tree's document with the new annotation, as Argo CD's field manager); with `gitops.liveToggle` it
annotates the live object (here: the same patch `kubectl annotate` sends). An `update` step changes the model's
predictor as a portfolio edit of `vllm.maxModelLen` does (`--max-model-len` one less each time) and applies it; a
step whose `strategy` is not the tree's (the rolling-update story's RollingUpdate) applies that strategy too, which
the runbook only simulates, so that the box shows what the simulator claims of it.

Each replay starts clean: every model stopped, then the scenario's `start` models started one at a time in their
order, each once Kueue has made its Workload and a second has passed (Kueue orders a queue by priority, then by the
Workloads' creation time, which the API server keeps to the second: pods made within one second tie, and Kueue
breaks the tie by its heap's order, pkg/cache/queue/cluster_queue.go queueOrderingFunc). A step's models are started
the same way, in the step's order, after its stops. Then the replay waits for Kueue, KServe and the scheduler to
settle and compares every model with what the step expects (the scenario's expectation, else `plan`'s state): its
state and flavor, its node (nodes of one flavor are identical, and the scheduler breaks ties between equal nodes at
random, so a node matches when the box's placement is plan's up to a renaming of the flavor's nodes), and the GPUs
its pods hold on nodes (a queued model holds none).
"""

from __future__ import annotations

import copy
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from generator.admission.plan import Cluster, ModelState, Snapshot, kueue_objects
from generator.admission.scenarios import describe
from generator.model.derive import model_namespace
from generator.model.portfolio import Expectation, Portfolio, Scenario, Step
from generator.render.common import Tree
from generator.render.inference import STOP_ANNOTATION
from generator.sandbox.apply import FIELD_MANAGER, RestMapper, server_side_apply
from generator.sandbox.box import Box
from generator.sandbox.errors import SandboxError
from generator.sandbox.live import Live, View, read

ANNOTATE_MANAGER = "kubectl-annotate"  # the field manager of `kubectl annotate` (and `oc annotate`)
SETTLE_TIMEOUT = 240.0  # seconds for the controllers to settle after a step, on a busy 2-core machine
QUIET = 15.0  # seconds a settled box that differs from the expectation is watched before that counts as its answer
CONFIRM = 3.0  # seconds a settled box that agrees is watched before that counts
POLL = 0.5
WORKLOAD_TIMEOUT = 90.0  # seconds for Kueue to make the Workload of a model just started
MAX_MODEL_LEN = "--max-model-len="

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Difference:
    """A model the box shows otherwise than the step expects."""

    step: int
    title: str
    model: str
    what: str  # state | flavor | node | GPUs bound
    expected: str
    observed: str

    def __str__(self) -> str:
        return (f"step {self.step} ({self.title}): {self.model}: {self.what}: expected {self.expected}, "
                f"observed {self.observed}")


@dataclass(frozen=True)
class Row:
    """One model after one step: the scenario's expectation, the simulator's answer, the box's."""

    name: str
    expected: str | None  # the scenario's expectation at this step; None when the step names none
    plan: ModelState
    live: Live
    state: str  # the box's state in the simulator's words (`preempted` recognised)
    gpus_expected: int  # the GPUs plan has the model's pods hold on nodes

    @property
    def observed(self) -> str:
        return describe(self.state, self.live.flavor if self.state in ("admitted", "unschedulable") else None)


@dataclass
class StepResult:
    number: int  # 0: the start (or the baseline after the sync)
    title: str
    actions: list[str]
    rows: list[Row] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    seconds: float = 0.0  # from the first action to the settled box
    settled: bool = True
    running_after: dict[str, float] = field(default_factory=dict)  # model started or admitted here -> seconds to Running
    gpus_bound: dict[str, int] = field(default_factory=dict)  # node -> GPUs bound


@dataclass
class ScenarioReplay:
    scenario: str
    steps: list[StepResult]

    @property
    def differences(self) -> list[Difference]:
        return [d for step in self.steps for d in step.differences]

    @property
    def ok(self) -> bool:
        return not self.differences


class Switch:
    """Switches and changes the box's models as the runbook does (module docstring), remembering each model's edits
    so that a later stop applies the edited document, as a later commit would."""

    def __init__(self, box: Box, portfolio: Portfolio, tree: Tree) -> None:
        self.box, self.portfolio = box, portfolio
        self.services = kueue_objects(tree).services
        self.mapper = RestMapper(box)
        self.edits: dict[str, tuple[int, str | None]] = {}  # model -> (updates applied, strategy)
        self.stopped: dict[str, bool] = {}

    def document(self, model: str, *, stopped: bool) -> dict[str, Any]:
        """The InferenceService as the tree renders it with the model on or off and its edits."""
        doc = copy.deepcopy(self.services[model])
        doc["metadata"].setdefault("annotations", {})[STOP_ANNOTATION] = "true" if stopped else "false"
        updates, strategy = self.edits.get(model, (0, None))
        predictor = doc["spec"]["predictor"]
        if strategy:
            predictor["deploymentStrategy"] = {"type": strategy}
        if updates:
            args = list(predictor["model"].get("args") or [])
            at = next((i for i, a in enumerate(args) if a.startswith(MAX_MODEL_LEN)), None)
            if at is None:
                raise SandboxError(f"replay: {model} has no {MAX_MODEL_LEN} argument to change for an update")
            args[at] = f"{MAX_MODEL_LEN}{int(args[at].removeprefix(MAX_MODEL_LEN)) - updates}"
            predictor["model"]["args"] = args
        return doc

    def apply(self, model: str, *, stopped: bool) -> None:
        """Argo CD applying the re-rendered InferenceService (GitOps: the default)."""
        server_side_apply(self.box, self.document(model, stopped=stopped), FIELD_MANAGER, self.mapper)
        self.stopped[model] = stopped

    def switch(self, model: str, *, stopped: bool) -> None:
        """Stop or start a model as the runbook does: in Git, or on the cluster with gitops.liveToggle."""
        if not self.portfolio.gitops.live_toggle:
            self.apply(model, stopped=stopped)
            return
        namespace = model_namespace(next(m for m in self.portfolio.models if m.name == model), self.portfolio)
        query = urllib.parse.urlencode({"fieldManager": ANNOTATE_MANAGER})
        path = f"/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{model}?{query}"
        status, body = self.box.request("PATCH", path, {"metadata": {"annotations": {STOP_ANNOTATION: str(stopped).lower()}}},
                                        content_type="application/merge-patch+json")
        if status != 200:
            raise SandboxError(f"replay: annotating InferenceService {model}: {status} {body}")
        self.stopped[model] = stopped

    def update(self, model: str, strategy: str | None) -> None:
        updates, _ = self.edits.get(model, (0, None))
        self.edits[model] = (updates + 1, strategy)
        self.apply(model, stopped=self.stopped.get(model, False))

    def forget_edits(self) -> None:
        self.edits.clear()


def _wait(box: Box, portfolio: Portfolio, what: str, done: Callable[[View], bool], timeout: float) -> View:
    deadline = time.monotonic() + timeout
    while True:
        view = read(box, portfolio)
        if done(view):
            return view
        if time.monotonic() > deadline:
            states = ", ".join(f"{n}: {m.state}" for n, m in view.models.items())
            raise SandboxError(f"replay: {what}: not after {timeout:.0f} s ({states}; terminating: "
                               f"{', '.join(view.terminating) or 'none'})")
        time.sleep(POLL)


def start_in_order(box: Box, portfolio: Portfolio, switch: Switch, models: Sequence[str]) -> None:
    """Start each model once the one before has its Workload and a second has passed (module docstring). A model
    that runs already is left as it is."""
    for model in models:
        before = read(box, portfolio).models[model]
        switch.switch(model, stopped=False)
        if before.state != "off":
            continue

        def queued(view: View, model: str = model) -> bool:
            return view.models[model].pod is not None and view.models[model].state not in ("starting", "stopping")

        _wait(box, portfolio, f"Kueue's Workload for {model}", queued, WORKLOAD_TIMEOUT)
        time.sleep(1.0)


def reset(box: Box, portfolio: Portfolio, switch: Switch, start: Sequence[str], progress: Progress) -> None:
    """Every model stopped as the tree renders it, then `start` started in its order."""
    begun = time.monotonic()
    switch.forget_edits()
    for model in portfolio.models:
        switch.apply(model.name, stopped=True)
    _wait(box, portfolio, "every model stopped", lambda view: not view.terminating
          and all(m.state == "off" for m in view.models.values()), SETTLE_TIMEOUT)
    start_in_order(box, portfolio, switch, start)
    progress(f"replay: every model stopped, then {', '.join(start) or 'none'} started, in {time.monotonic() - begun:.1f} s")


def settle(box: Box, portfolio: Portfolio, agrees: Callable[[View], bool], since: float,
           timeout: float = SETTLE_TIMEOUT) -> tuple[View, float, bool, dict[str, float]]:
    """Watch the box until it is settled and quiet: CONFIRM seconds when it agrees with the expectation, QUIET when
    not. Returns the view, the seconds since `since`, whether it settled, and when each model was first seen Running
    (seconds since `since`)."""
    first_running: dict[str, tuple[str | None, float]] = {}
    signature: tuple[Any, ...] = ()
    quiet_since = time.monotonic()
    while True:
        view = read(box, portfolio)
        now = time.monotonic()
        for name, model in view.models.items():
            if model.state == "admitted" and first_running.get(name, (None, 0.0))[0] != model.pod:
                first_running[name] = (model.pod, now - since)
        if view.signature() != signature:
            signature, quiet_since = view.signature(), now
        running = {name: seconds for name, (_, seconds) in first_running.items()}
        if view.settled and now - quiet_since >= (CONFIRM if agrees(view) else QUIET):
            return view, now - since, True, running
        if now - since > timeout:
            return view, now - since, False, running
        time.sleep(POLL)


def _expected(step: Step | None, planned: ModelState) -> tuple[str, str | None, str | None]:
    """(state, flavor or None, the scenario's words or None): the step's expectation, else plan's state."""
    wanted = step.expect.get(planned.name) if step else None
    if wanted is None:
        flavor = planned.flavor if planned.state in ("admitted", "unschedulable") else None
        return planned.state, flavor, None
    expectation = wanted if isinstance(wanted, Expectation) else Expectation(state=wanted, flavor=None)
    return expectation.state, expectation.flavor, describe(expectation.state, expectation.flavor)


def _held(cluster: Cluster, model: str) -> int:
    """The GPUs plan has the model's pods (a rolling update's old and new) hold on nodes."""
    total = 0
    for pod in (model, f"{model}@new"):
        held = cluster.nodes.holders.get(pod)
        if held:
            total += int(held[1].get(cluster.gpu, 0))
    return total


def _flavor_of(node: str) -> str:
    return node.rpartition("-")[0]  # nodes are `<flavor>-<n>` in the box and in plan (generator.sandbox.nodes)


def compare(number: int, title: str, step: Step | None, snapshot: Snapshot, cluster: Cluster, view: View,
            previous: dict[str, Live] | None, touched: set[str]) -> tuple[list[Row], list[Difference]]:
    """The rows of a step and where the box differs from the expectation (module docstring)."""
    rows, differences = [], []
    renamed: dict[str, str] = {}  # plan's node -> the box's node of the same placement
    for planned in snapshot.models:
        name, live = planned.name, view.models[planned.name]
        state = live.state
        before = (previous or {}).get(name)
        if (state == "pending" and before is not None and before.state in ("admitted", "unschedulable")
                and name not in touched and live.pod != before.pod):
            state = "preempted"  # its admitted pod was taken away and its replacement waits
        want_state, want_flavor, words = _expected(step, planned)
        row = Row(name, words, planned, live, state, _held(cluster, name))
        rows.append(row)

        def differ(what: str, expected: str, observed: str, name: str = name) -> None:
            differences.append(Difference(number, title, name, what, expected, observed))

        if state != want_state:
            differ("state", describe(want_state, want_flavor), row.observed + (f" ({live.message})" if live.message else ""))
            continue
        if want_flavor and live.flavor != want_flavor:
            differ("flavor", want_flavor, str(live.flavor))
            continue
        if state != planned.state:
            continue  # the scenario and plan disagree (a failing scenario): plan's node and GPUs do not apply
        if planned.node and live.node and planned.state == "admitted":
            mapped = renamed.get(planned.node)
            if _flavor_of(live.node) != _flavor_of(planned.node) or (mapped or live.node) != live.node or (
                    mapped is None and live.node in renamed.values()):
                differ("node", f"{planned.node} (or a node of its flavor no other model of plan's shares)", live.node)
            else:
                renamed[planned.node] = live.node
        if live.gpus != row.gpus_expected:
            differ("GPUs bound", str(row.gpus_expected), f"{live.gpus} (nodes: {_bound_text(view.gpus_bound)})")
    return rows, differences


def _bound_text(gpus: dict[str, int]) -> str:
    return ", ".join(f"{node} {n}" for node, n in sorted(gpus.items()) if n) or "none"


def _step_actions(step: Step) -> list[str]:
    actions = [f"stop {m}" for m in step.disable] + [f"start {m}" for m in step.enable]
    strategy = f" ({step.strategy}, which the tree does not render)" if step.strategy not in (None, "Recreate") else ""
    actions += [f"update {m}{strategy}" for m in step.update]
    return actions


def observe(box: Box, portfolio: Portfolio, tree: Tree, *, number: int = 0, title: str = "baseline",
            actions: Sequence[str] = (), cluster: Cluster | None = None, since: float | None = None) -> StepResult:
    """The box settled beside plan's baseline (or `cluster`'s current snapshot): the live view after a sync."""
    cluster = cluster or Cluster(portfolio, tree)
    snapshot = cluster.snapshot()
    begun = time.monotonic() if since is None else since
    agree = _agreement(number, title, None, snapshot, cluster, None, set())
    view, seconds, settled, running = settle(box, portfolio, agree, begun)
    rows, differences = compare(number, title, None, snapshot, cluster, view, None, set())
    return StepResult(number, title, list(actions), rows, differences, seconds, settled, running, dict(view.gpus_bound))


def _agreement(number: int, title: str, step: Step | None, snapshot: Snapshot, cluster: Cluster,
               previous: dict[str, Live] | None, touched: set[str]) -> Callable[[View], bool]:
    return lambda view: not compare(number, title, step, snapshot, cluster, view, previous, touched)[1]


def replay_scenario(box: Box, portfolio: Portfolio, tree: Tree, scenario: Scenario, *,
                    progress: Progress | None = None) -> ScenarioReplay:
    """Replay `scenario` on a box that runs the tree (synced, with Kueue and KServe); the box is left at its end."""
    say = progress or box.progress
    switch = Switch(box, portfolio, tree)
    cluster = Cluster(portfolio, tree, start=scenario.start)
    start = list(scenario.start) if scenario.start is not None else [m.name for m in portfolio.models if m.state == "active"]
    begun = time.monotonic()
    reset(box, portfolio, switch, start, say)
    first = observe(box, portfolio, tree, title=f"start: {', '.join(start) or 'no model'}",
                    actions=[f"start {m}" for m in start], cluster=cluster, since=begun)
    steps = [first]
    say(_progress_line(scenario.name, first))
    for number, step in enumerate(scenario.steps, start=1):
        snapshot = cluster.apply(enable=step.enable, disable=step.disable, update=step.update, strategy=step.strategy)
        previous = {row.name: row.live for row in steps[-1].rows}
        touched = {*step.enable, *step.disable, *step.update}
        begun = time.monotonic()
        for model in step.disable:
            switch.switch(model, stopped=True)
        start_in_order(box, portfolio, switch, step.enable)
        for model in step.update:
            switch.update(model, step.strategy)
        agree = _agreement(number, step.title, step, snapshot, cluster, previous, touched)
        view, seconds, settled, running = settle(box, portfolio, agree, begun)
        rows, differences = compare(number, step.title, step, snapshot, cluster, view, previous, touched)
        newly = {r.name: running[r.name] for r in rows if r.name in running and r.state == "admitted"
                 and (previous[r.name].state != "admitted" or previous[r.name].pod != r.live.pod)}
        steps.append(StepResult(number, step.title, _step_actions(step), rows, differences, seconds, settled, newly,
                                dict(view.gpus_bound)))
        say(_progress_line(scenario.name, steps[-1]))
    return ScenarioReplay(scenario.name, steps)


def _progress_line(scenario: str, step: StepResult) -> str:
    verdict = "as expected" if not step.differences else f"{len(step.differences)} difference(s)"
    return f"replay {scenario}: step {step.number} settled in {step.seconds:.1f} s: {verdict}"


# --- presentation ----------------------------------------------------------------------------------------------------

HEADER = ["", "MODEL", "EXPECTED", "PLAN", "PLAN NODE", "WORKLOAD", "NODE", "POD", "READY", "STOPPED"]


def step_text(step: StepResult) -> str:
    """One step: its header line, a table of every model, its differences (each line starting `!`)."""
    head = f"step {step.number}: {step.title}" if step.number else step.title
    if step.actions and step.number:
        head += f" ({'; '.join(step.actions)})"
    timing = f"settled in {step.seconds:.1f} s" if step.settled else f"NOT settled after {step.seconds:.1f} s"
    timing += "".join(f"; {m} Running {s:.1f} s after it" for m, s in sorted(step.running_after.items()) if step.number)
    lines = [f"{head}: {timing}"]
    marked = {d.model for d in step.differences}
    table = [HEADER]
    for row in step.rows:
        plan = describe(row.plan.state, row.plan.flavor if row.plan.state in ("admitted", "unschedulable") else None)
        table.append(["!" if row.name in marked else " ", row.name, row.expected or "-", plan, row.plan.node or "-",
                      row.observed, row.live.node or "-", row.live.phase, row.live.ready, row.live.stopped])
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in table]
    lines.append(f"  GPUs bound: {_bound_text(step.gpus_bound)}")
    lines += [f"! {d}" for d in step.differences]
    return "\n".join(lines) + "\n"


def replay_text(replay: ScenarioReplay) -> str:
    text = f"scenario {replay.scenario}\n\n" + "\n".join(step_text(s) for s in replay.steps)
    verdict = ("the box agrees with the scenario and plan at every step" if replay.ok
               else f"{len(replay.differences)} difference(s) between the box and the scenario")
    return text + f"\n{replay.scenario}: {verdict}\n"


def step_json(step: StepResult) -> dict[str, Any]:
    return {
        "number": step.number, "title": step.title, "actions": step.actions, "seconds": round(step.seconds, 1),
        "settled": step.settled, "running_after": {m: round(s, 1) for m, s in sorted(step.running_after.items())},
        "gpus_bound": dict(sorted(step.gpus_bound.items())),
        "models": [{"name": r.name, "expected": r.expected,
                    "plan": {"state": r.plan.state, "flavor": r.plan.flavor, "node": r.plan.node},
                    "live": {**asdict(r.live), "state": r.state}, "gpus_expected": r.gpus_expected} for r in step.rows],
        "differences": [asdict(d) for d in step.differences],
    }


def replay_json(replay: ScenarioReplay) -> dict[str, Any]:
    return {"scenario": replay.scenario, "ok": replay.ok, "steps": [step_json(s) for s in replay.steps],
            "differences": [asdict(d) for d in replay.differences]}


def scenario_named(portfolio: Portfolio, name: str) -> Scenario | None:
    return next((s for s in portfolio.scenarios if s.name == name), None)

