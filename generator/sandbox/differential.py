"""Differential runs: a portfolio's steps on the real Kueue in a box, read back in the simulator's shape
(generator.admission.replay: per step, every model `admitted` on a flavor, `pending`, `preempted` or `off`).

One box (etcd, the API server, controller manager, scheduler, kwok and Kueue; no KServe, no Argo CD) serves many
portfolios, a few at once: each runs in a slot, under names of its own (generator.sandbox.standin), with a stand-in
for KServe: switching a model on creates the Deployment KServe would make from its InferenceService; off deletes it
(what KServe does on `serving.kserve.io/stop: "true"`). A new run in a slot deletes the last run's namespaces and
Kueue objects without waiting (they are under other names) and keeps the slot's Nodes that the new portfolio has
too; the others are deleted and the missing ones made (generator.sandbox.nodes' documents).

Order. Kueue orders a queue by priority, then by the Workload's creationTimestamp (whole seconds; equal ones in no
fixed order), so a run creates its models at least a second apart, in the order the simulator gives them creation
times. The simulator admits a portfolio's baseline in one go, all of its pods queued before the first cycle; the box
does the same by holding back the one ResourceFlavor every ClusterQueue names (the CPU flavor): the ClusterQueues stay
inactive while the baseline's pods and Workloads are made, and turn active together when it is created (Kueue's
ResourceFlavor create event activates them in one cache update, then requeues their workloads and wakes the scheduler).
The models are made only once Kueue has written the status of every ClusterQueue and LocalQueue of the run: a Workload
made before Kueue's queue manager holds its LocalQueue is never queued (on a busy machine it waited as "ClusterQueue
... is inactive" for good).

Settled. A step has settled when (1) no Workload or pod of the run changed for `quiet` seconds (watches,
generator.sandbox.watch), (2) every model switched on has exactly one pod, not terminating, with its Workload, and
every model switched off has no pod left, (3) no Workload of a pod that is gone still holds quota, (4) every admitted
pod has lost Kueue's scheduling gate and is bound to a Node or marked Unschedulable by the scheduler, and every pod not
admitted is still gated, and (5) Kueue's scheduler has tried every waiting Workload since the last thing that makes it
try again: quota released anywhere in the run (Kueue requeues the waiting Workloads of the cohort tree), the Workload's
creation, the baseline's queues turning active. A try shows as Kueue's `Pending` Event on the Workload, which the
scheduler records on every failed try even when the Workload's status stays the same; a StrictFIFO queue tries only
its head, so one try in the queue will do. Without (5) a step of a busy machine settled in the gap between a release
and Kueue's next try and read a waiting model that Kueue was about to admit. A Workload Kueue does not try within
UNTRIED_QUIET seconds of quiet is taken as settled (counted in RealRun.untried). A model is `preempted` when Kueue
preempted a pod of it during the step (the watch saw its Workload's Preempted condition) and its current pod is not
admitted.
"""

from __future__ import annotations

import copy
import datetime
import http.client
import json
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.admission.replay import ModelOutcome, Replay, Step
from generator.model.derive import model_namespace
from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.sandbox.box import Box
from generator.sandbox.errors import SandboxError
from generator.sandbox.kube import core
from generator.sandbox.kueue import Kueue
from generator.sandbox.standin import (
    MODEL_LABEL,
    PLURALS,
    RUN_LABEL,
    SLOT_LABEL,
    collection,
    held_back_flavor,
    namespace_documents,
    run_documents,
    slot_nodes,
    standin_deployment,
)
from generator.sandbox.watch import PODS, AttemptWatch, Watch, WorkloadWatch, owner_pod, tls_context

GATE = "kueue.x-k8s.io/admission"
KUEUE_API = "/apis/kueue.x-k8s.io/v1beta2"
UNTRIED_QUIET = 5.0  # seconds of quiet after which a Workload Kueue has not tried since its last trigger counts settled
QUIET = 0.5  # seconds without a Workload change (with the checks (2) to (4)) that settle a step
POLL = 0.2
RETRY_SECONDS = 30.0
STEP_TIMEOUT = 120.0


def _stop_process(box: Box, name: str, timeout: float = 15) -> None:
    """Stop the process `box.spawn` started as `name` (its process group: SIGTERM, then SIGKILL), and forget it."""
    record = box.state / "pids" / f"{name}.json"
    if not record.exists():
        return
    pid = int(json.loads(record.read_text(encoding="utf-8"))["pid"])

    def gone() -> bool:
        try:
            return os.waitpid(pid, os.WNOHANG)[0] == pid  # our child: reaped
        except ChildProcessError:
            return not Path(f"/proc/{pid}").exists()

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + timeout
        while not gone() and time.monotonic() < deadline:
            time.sleep(0.1)
        if gone():
            break
    record.unlink()


class KueueBox:
    """The box of differential runs: `start()`, then `Slot(kueue_box, n).run(...)` from a few threads at once;
    `use_fair_sharing(on)` (with no slot running) restarts Kueue when the setting changes; `stop()`."""

    def __init__(self, state: Path, *, bin_dir: Path, progress: Callable[[str], None] | None = None,
                 quiet: float = QUIET) -> None:
        self.box = Box(state, bin_dir=bin_dir, progress=progress)
        self.quiet = quiet  # the slots' (Slot.settle)
        self.fair_sharing = False
        self.workloads = WorkloadWatch(self.box)
        self.attempts = AttemptWatch(self.box)
        self.pods = Watch(self.box, PODS, RUN_LABEL)  # the runs' pods only
        self.slots: list[Slot] = []

    def start(self) -> dict[str, float]:
        took = self.box.start([*core(), Kueue(fair_sharing=self.fair_sharing)])
        self.box.request("GET", "/readyz")  # the admin TLS context, made once before threads share the Box
        self.workloads.start()
        self.pods.start()
        self.attempts.start()
        return took

    def use_fair_sharing(self, on: bool) -> float:
        """Restart Kueue with fair sharing on or off (a setting of Kueue's configuration); the seconds it took."""
        if on == self.fair_sharing:
            return 0.0
        started = time.monotonic()
        _stop_process(self.box, "kueue")
        Kueue(fair_sharing=on).start(self.box)
        self.fair_sharing = on
        return time.monotonic() - started

    def check_alive(self) -> None:
        if "kueue" not in self.box.running():
            raise SandboxError(f"kueue is not running; the end of its log:\n{self.box.log_tail('kueue')}")

    def stop(self) -> None:
        self.workloads.stop()
        self.pods.stop()
        self.attempts.stop()
        self.box.stop()


class Client:
    """The API server on one kept-alive HTTPS connection (a slot's thread makes hundreds of calls per portfolio; a TLS
    handshake each would cost both sides more than the calls)."""

    def __init__(self, box: Box) -> None:
        self.box = box
        self.connection: http.client.HTTPSConnection | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for attempt in range(2):
            if self.connection is None:
                port = int(self.box.api_url.rsplit(":", 1)[1])
                self.connection = http.client.HTTPSConnection("127.0.0.1", port, context=tls_context(self.box), timeout=60)
            try:
                self.connection.request(method, path, body=data, headers=headers)
                answer = self.connection.getresponse()
                raw = answer.read()
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
                continue
            try:
                return answer.status, json.loads(raw)
            except ValueError:
                return answer.status, raw.decode(errors="replace")
        raise AssertionError("unreachable")


# --- what a run sees ------------------------------------------------------------------------------------------------

@dataclass
class Seen:
    """A run's pods (by model) and Workloads (by the pod that owns them) at one moment."""

    pods: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    workloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    orphans: list[dict[str, Any]] = field(default_factory=list)  # Workloads whose pod is gone

    def live_pod(self, model: str) -> dict[str, Any]:
        return next(p for p in self.pods[model] if not p["metadata"].get("deletionTimestamp"))

    def latest_creation(self) -> float:
        stamps = [_timestamp(w) for w in [*self.workloads.values(), *self.orphans]]
        return max(stamps, default=0.0)


def _timestamp(obj: dict[str, Any]) -> float:
    text = str(obj["metadata"]["creationTimestamp"]).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text).timestamp()


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(c.get("type")): c for c in (obj.get("status") or {}).get("conditions") or []}


def _true(obj: dict[str, Any], kind: str) -> bool:
    return _conditions(obj).get(kind, {}).get("status") == "True"


def _gated(pod: dict[str, Any]) -> bool:
    return any(g.get("name") == GATE for g in pod["spec"].get("schedulingGates") or [])


def _unschedulable(pod: dict[str, Any]) -> bool:
    scheduled = _conditions(pod).get("PodScheduled", {})
    return scheduled.get("status") == "False" and scheduled.get("reason") == "Unschedulable"


def _node_ready(node: dict[str, Any]) -> bool:
    not_ready = any(t["key"].startswith("node.kubernetes.io/") for t in node.get("spec", {}).get("taints") or [])
    return _true(node, "Ready") and not not_ready


def _assigned(workload: dict[str, Any], resource: str) -> str | None:
    for assignment in ((workload.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []:
        if resource in (assignment.get("flavors") or {}):
            return str(assignment["flavors"][resource])
    return None


def _waits_for_inactive_queue(workload: dict[str, Any]) -> bool:
    """Kueue's last word on the Workload is that its queue is inactive: written before the held-back ResourceFlavor
    made every ClusterQueue active (the run has no queue that stays inactive), so Kueue has yet to try it."""
    message = str(_conditions(workload).get("QuotaReserved", {}).get("message", ""))
    return message.endswith(" is inactive")


def pod_model(pod_name: str) -> str:
    """`m3-predictor-5d8f7c9b4-x2kqz` -> `m3` (a Deployment's pod: the Deployment's name, a hash, a suffix)."""
    return pod_name.rsplit("-", 2)[0].removesuffix("-predictor")


def unsettled(seen: Seen, on: set[str], models: Sequence[str]) -> list[str]:
    """What keeps a run from having settled (the module docstring's (2) to (4)); empty once it has."""
    problems = []
    for model in models:
        pods = seen.pods.get(model, [])
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        if model not in on:
            if pods:
                problems.append(f"{model}: switched off, {len(pods)} pod(s) left")
            continue
        if len(live) != 1 or len(pods) != 1:
            problems.append(f"{model}: {len(live)} live pod(s), {len(pods) - len(live)} terminating")
            continue
        pod = live[0]
        workload = seen.workloads.get(pod["metadata"]["name"])
        if workload is None:
            problems.append(f"{model}: pod {pod['metadata']['name']} has no Workload yet")
        elif _true(workload, "Admitted"):
            if _gated(pod):
                problems.append(f"{model}: admitted, its pod still gated")
            elif not pod["spec"].get("nodeName") and not _unschedulable(pod):
                problems.append(f"{model}: admitted, its pod neither bound nor unschedulable")
        elif not _gated(pod):
            problems.append(f"{model}: not admitted, its pod not gated")
    for workload in seen.orphans:
        if _true(workload, "QuotaReserved"):
            problems.append(f"Workload {workload['metadata']['name']} of a pod that is gone holds quota")
    return problems


@dataclass
class RealRun:
    replay: Replay
    reasons: list[dict[str, str]] = field(default_factory=list)  # per step (the baseline first): model -> Kueue's word
    seconds: dict[str, float] = field(default_factory=dict)  # load, baseline, steps
    untried: int = 0  # steps (the baseline included) settled by UNTRIED_QUIET: Kueue did not try a waiting Workload


# --- a slot: one portfolio at a time ----------------------------------------------------------------------------------

class Slot:
    def __init__(self, kueue_box: KueueBox, index: int, *, quiet: float = QUIET, timeout: float = STEP_TIMEOUT) -> None:
        self.kbox, self.box = kueue_box, kueue_box.box
        self.slot = f"d{index}"
        self.runs = 0
        self.prefix = ""
        self.quiet, self.timeout = quiet, timeout
        self.namespaces: set[str] = set()  # the current run's
        self.nodes: dict[str, dict[str, Any]] = {}  # the slot's Nodes: name -> the document it was made from
        self.latest = 0.0  # the latest creationTimestamp of the run's Workloads
        self.client = Client(self.box)
        self.queues: dict[tuple[str, str], tuple[str, bool]] = {}  # the run's LocalQueues -> (ClusterQueue, StrictFIFO)
        self.untried_settles = 0  # steps settled by UNTRIED_QUIET rather than by Kueue's attempts

    def _request(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202)) -> Any:
        """One API call on the slot's kept-alive connection; a refusal the API server calls passing (429, or a 5xx
        while a webhook restarts) is retried for a while."""
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            status, answer = self.client.request(method, path, body)
            if status in ok:
                return answer
            if (status == 429 or status >= 500) and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            message = answer.get("message") if isinstance(answer, dict) else answer
            raise SandboxError(f"differential slot {self.slot}: {method} {path}: {status} {message}")

    def _create(self, doc: dict[str, Any]) -> None:
        self._request("POST", collection(doc), doc, ok=(201,))

    def _list(self, path: str, selector: str | None = None) -> list[dict[str, Any]]:
        query = f"?labelSelector={urllib.parse.quote(selector)}" if selector else ""
        return list(self._request("GET", path + query).get("items", []))

    def _wait(self, what: str, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.timeout
        while not check():
            if time.monotonic() > deadline:
                self.kbox.check_alive()
                raise SandboxError(f"differential slot {self.slot}: {what}: not after {self.timeout:.0f} s")
            time.sleep(POLL)

    # --- between runs

    def clear(self) -> None:
        """Delete every run's namespaces (with their Deployments, pods, Workloads, LocalQueues) and Kueue objects;
        the API server and Kueue finish it while the next run goes on under other names."""
        query = "?labelSelector=" + urllib.parse.quote(f"{SLOT_LABEL}={self.slot}")
        for namespace in self._list("/api/v1/namespaces", f"{SLOT_LABEL}={self.slot}"):
            if not namespace["metadata"].get("deletionTimestamp"):
                self._request("DELETE", f"/api/v1/namespaces/{namespace['metadata']['name']}", ok=(200, 202, 404))
        for kind in ("ClusterQueue", "Cohort", "ResourceFlavor", "WorkloadPriorityClass"):
            self._request("DELETE", f"{KUEUE_API}/{PLURALS[kind]}{query}")

    def _nodes(self, wanted: list[dict[str, Any]]) -> None:
        """Keep the slot's Nodes the portfolio has too, delete the others, make the missing ones."""
        by_name = {n["metadata"]["name"]: n for n in wanted}
        existing = self._list("/api/v1/nodes", f"{SLOT_LABEL}={self.slot}")
        for node in existing:
            name = node["metadata"]["name"]
            if self.nodes.get(name) is None or by_name.get(name) != self.nodes[name]:
                self._request("DELETE", f"/api/v1/nodes/{name}", ok=(200, 202, 404))
                self.nodes.pop(name, None)
        stale = {n["metadata"]["name"] for n in existing} - set(self.nodes)
        if stale & set(by_name):
            self._wait("the slot's Nodes that differ are gone", lambda: not stale & {
                n["metadata"]["name"] for n in self._list("/api/v1/nodes", f"{SLOT_LABEL}={self.slot}")})
        for name, doc in by_name.items():
            if name not in self.nodes:
                self._create(copy.deepcopy(doc))
                self.nodes[name] = doc

    def _nodes_ready(self) -> None:
        def ready() -> bool:
            listed = {n["metadata"]["name"]: n for n in self._list("/api/v1/nodes", f"{SLOT_LABEL}={self.slot}")}
            return all(name in listed and _node_ready(listed[name]) for name in self.nodes)
        self._wait("the slot's Nodes are Ready", ready)

    # --- reading the run

    def read(self) -> Seen:
        """The run's pods and Workloads as the watches have them."""
        seen = Seen()
        pods = self.kbox.pods.items(self.namespaces)
        for pod in pods:
            seen.pods.setdefault(pod["metadata"]["labels"][MODEL_LABEL], []).append(pod)
        names = {p["metadata"]["name"] for p in pods}
        for workload in self.kbox.workloads.items(self.namespaces):
            owner = owner_pod(workload)
            if owner in names:
                seen.workloads[owner] = workload
            else:
                seen.orphans.append(workload)
        return seen

    def last_change(self) -> float:
        return max(self.kbox.workloads.last_change(self.namespaces), self.kbox.pods.last_change(self.namespaces))

    def untried(self, seen: Seen, base: float) -> list[str]:
        """The Workloads waiting that Kueue's scheduler has not tried since the last event that makes it try them:
        quota released in the run (Kueue requeues the waiting Workloads of the whole cohort tree), the Workload's
        creation, `base` (the baseline's queues turned active). In a BestEffortFIFO queue every waiting Workload is
        tried; in a StrictFIFO queue only its head, so one try of any of its Workloads (after a Workload joined it)
        will do. A try: Kueue's Pending event, or quota reserved."""
        workloads, attempts = self.kbox.workloads, self.kbox.attempts
        with workloads.lock:
            released = max((workloads.released.get(n, 0.0) for n in self.namespaces), default=0.0)
            added = dict(workloads.added)
            reserved = dict(workloads.reserved)
        with attempts.lock:
            attempted = dict(attempts.attempted)

        def tried(w: dict[str, Any]) -> float:
            meta = w["metadata"]
            return max(attempted.get((meta["namespace"], meta["name"]), 0.0), reserved.get(meta["uid"], 0.0))

        def queue(w: dict[str, Any]) -> tuple[str, bool]:
            return self.queues.get((w["metadata"]["namespace"], str(w["spec"].get("queueName"))), ("", False))

        trigger = max(base, released)
        by_queue: dict[str, list[dict[str, Any]]] = {}
        for w in seen.workloads.values():
            by_queue.setdefault(queue(w)[0], []).append(w)
        problems = []
        for pod, w in seen.workloads.items():
            if _true(w, "QuotaReserved"):
                continue
            if _waits_for_inactive_queue(w):
                problems.append(f"{pod}: Kueue has not tried it since its ClusterQueue became active")
                continue
            name, strict = queue(w)
            if strict:
                joined = max(added.get(v["metadata"]["uid"], 0.0) for v in by_queue[name])
                if max(tried(v) for v in by_queue[name]) <= max(trigger, joined):
                    problems.append(f"ClusterQueue {name}: Kueue has not tried its head since the last change")
            elif tried(w) <= max(trigger, added.get(w["metadata"]["uid"], 0.0)):
                problems.append(f"{pod}: Kueue has not tried it since the last change")
        return sorted(set(problems))

    def settle(self, since: float, on: set[str], models: Sequence[str], base: float = 0.0) -> Seen:
        """Wait for the run to settle (the module docstring); `base`: a moment after which Kueue must try every
        waiting Workload again."""
        deadline = time.monotonic() + self.timeout
        problems: list[str] = ["nothing read yet"]
        while True:
            time.sleep(POLL)
            last = max(since, self.last_change())
            if time.monotonic() - last >= self.quiet:
                seen = self.read()
                problems = unsettled(seen, on, models)
                if not problems:
                    problems = self.untried(seen, base)
                    if problems and time.monotonic() - last >= UNTRIED_QUIET:
                        self.untried_settles += 1
                        problems = []
                if not problems and self.last_change() <= last:
                    self.latest = max(self.latest, seen.latest_creation())
                    return seen
            if time.monotonic() > deadline:
                self.kbox.check_alive()
                raise SandboxError(f"differential slot {self.slot}: not settled after {self.timeout:.0f} s: "
                                   + "; ".join(problems))

    def outcomes(self, seen: Seen, on: set[str], models: Sequence[str], since: float, gpu: str) -> dict[str, ModelOutcome]:
        preempted = {pod_model(p.pod) for p in self.kbox.workloads.preemptions(self.namespaces, since)}
        result = {}
        for model in models:
            if model not in on:
                result[model] = ModelOutcome("off")
                continue
            pod = seen.live_pod(model)
            workload = seen.workloads[pod["metadata"]["name"]]
            if _true(workload, "Admitted"):
                flavor = _assigned(workload, gpu)
                result[model] = ModelOutcome("admitted", flavor.removeprefix(self.prefix) if flavor else None,
                                             bool(pod["spec"].get("nodeName")))
            else:
                result[model] = ModelOutcome("preempted" if model in preempted else "pending")
        return result

    @staticmethod
    def reasons(seen: Seen, on: set[str]) -> dict[str, str]:
        """Kueue's message on each model's Workload: why it waits, or where it holds quota."""
        return {model: str(_conditions(seen.workloads[seen.live_pod(model)["metadata"]["name"]])
                           .get("QuotaReserved", {}).get("message", "")) for model in sorted(on)}

    # --- a portfolio

    def _create_model(self, deployment: dict[str, Any], model: str) -> None:
        """Create the model's Deployment a second after the run's latest Workload (so that its Workload is later in
        Kueue's queue order), and wait for its Workload."""
        wait = self.latest + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
        self._create(copy.deepcopy(deployment))
        found: list[dict[str, Any]] = []

        def made() -> bool:
            seen = self.read()
            live = [p for p in seen.pods.get(model, []) if not p["metadata"].get("deletionTimestamp")]
            if len(live) == 1 and live[0]["metadata"]["name"] in seen.workloads:
                found.append(seen.workloads[live[0]["metadata"]["name"]])
            return bool(found)
        self._wait(f"{model}: its pod's Workload is made", made)
        self.latest = max(self.latest, _timestamp(found[0]))

    def run(self, portfolio: Portfolio, tree: Tree, steps: Sequence[Step], *, start: Sequence[str] | None = None) -> RealRun:
        """The baseline (the active models, or `start`) and every step, on the real Kueue, in the simulator's shape."""
        self.kbox.check_alive()
        self.clear()
        untried_before = self.untried_settles
        self.runs += 1
        self.prefix, self.latest = f"{self.slot}r{self.runs}-", 0.0
        seconds: dict[str, float] = {}
        clock = time.monotonic()
        gpu = portfolio.cluster.gpu_resource
        models = [m.name for m in portfolio.models]
        services = {d["metadata"]["name"]: d for docs in tree.values() for d in docs if d.get("kind") == "InferenceService"}
        deployments = {m: standin_deployment(services[m], self.prefix, self.slot) for m in models}
        documents = run_documents(tree, self.prefix, self.slot)
        namespaces = namespace_documents([*(model_namespace(m, portfolio) for m in portfolio.models),
                                          *(d["metadata"]["namespace"].removeprefix(self.prefix)
                                            for d in documents if d["metadata"].get("namespace"))], self.prefix, self.slot)
        self.namespaces = {n["metadata"]["name"] for n in namespaces}
        self._nodes(slot_nodes(portfolio, tree, self.slot))
        seconds["nodes"] = time.monotonic() - clock
        held = held_back_flavor(documents)
        for doc in [*namespaces, *documents]:
            if not (doc["kind"] == "ResourceFlavor" and doc["metadata"]["name"] == held):
                self._create(doc)
        queues = {d["metadata"]["name"] for d in documents if d["kind"] == "ClusterQueue"}
        strict = {d["metadata"]["name"] for d in documents if d["kind"] == "ClusterQueue"
                  and d["spec"].get("queueingStrategy") == "StrictFIFO"}
        self.queues = {(d["metadata"]["namespace"], d["metadata"]["name"]): (d["spec"]["clusterQueue"],
                       d["spec"]["clusterQueue"] in strict) for d in documents if d["kind"] == "LocalQueue"}
        local = {(d["metadata"]["namespace"], d["metadata"]["name"]) for d in documents if d["kind"] == "LocalQueue"}
        run = f"{RUN_LABEL}={self.prefix.rstrip('-')}"

        def known() -> bool:  # Kueue has read every queue: it wrote their status
            return ({q["metadata"]["name"] for q in self._list(f"{KUEUE_API}/clusterqueues", run)
                     if "Active" in _conditions(q)} == queues
                    and {(q["metadata"]["namespace"], q["metadata"]["name"]) for q in self._list(f"{KUEUE_API}/localqueues", run)
                         if "Active" in _conditions(q)} == local)

        # Kueue must know the queues before their Workloads come: a Workload made before Kueue's queue manager has its
        # LocalQueue is never queued, and waits as "ClusterQueue ... is inactive" for good (seen on a busy machine).
        self._wait("Kueue has read the ClusterQueues and LocalQueues", known)
        seconds["load"] = time.monotonic() - clock

        clock = time.monotonic()
        running = list(start) if start is not None else [m.name for m in portfolio.models if m.state == "active"]
        for model in running:
            self._create_model(deployments[model], model)
        seconds["created"] = time.monotonic() - clock
        self._nodes_ready()
        seconds["ready"] = time.monotonic() - clock
        since = time.monotonic()
        self._create(next(d for d in documents if d["kind"] == "ResourceFlavor" and d["metadata"]["name"] == held))
        seen = self.settle(since, set(running), models, base=since)
        result = Replay(self.outcomes(seen, set(running), models, since, gpu))
        reasons = [self.reasons(seen, set(running))]
        seconds["baseline"] = time.monotonic() - clock

        clock = time.monotonic()
        on = set(running)
        for step in steps:
            since = time.monotonic()
            for model in (m for m in step.disable if m in on):
                meta = deployments[model]["metadata"]
                self._request("DELETE", f"/apis/apps/v1/namespaces/{meta['namespace']}/deployments/{meta['name']}"
                              "?propagationPolicy=Background")
                on.discard(model)
            for model in (m for m in step.enable if m not in on):
                self._create_model(deployments[model], model)
                on.add(model)
            seen = self.settle(since, on, models)
            result.steps.append(self.outcomes(seen, on, models, since, gpu))
            reasons.append(self.reasons(seen, on))
        seconds["steps"] = time.monotonic() - clock
        return RealRun(result, reasons, seconds, self.untried_settles - untried_before)


# --- the comparison and the runner ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    step: int  # 0: the baseline
    model: str
    simulated: ModelOutcome
    real: ModelOutcome

    def __str__(self) -> str:
        def say(o: ModelOutcome) -> str:
            return f"{o.state} on {o.flavor}" if o.flavor else o.state
        where = "baseline" if self.step == 0 else f"step {self.step}"
        return f"{where}: {self.model}: simulator {say(self.simulated)}, Kueue {say(self.real)}"


def compare(simulated: Replay, real: Replay) -> list[Difference]:
    """Per step (the baseline first) and model: the state and the GPU flavor (`placed`, the scheduler's part, aside)."""
    found = []
    steps = zip([simulated.baseline, *simulated.steps], [real.baseline, *real.steps], strict=True)
    for number, (mine, theirs) in enumerate(steps):
        for model in sorted(mine):
            a, b = mine[model], theirs[model]
            if (a.state, a.flavor) != (b.state, b.flavor):
                found.append(Difference(number, model, a, b))
    return found


def run_slots(kueue_box: KueueBox, jobs: Sequence[Callable[[Slot], None]], slots: int) -> None:
    """Run the jobs on `slots` slots at once, each job on the first free slot; a job reports its own errors."""
    pending = list(reversed(jobs))
    lock = threading.Lock()
    while len(kueue_box.slots) < slots:
        kueue_box.slots.append(Slot(kueue_box, len(kueue_box.slots), quiet=kueue_box.quiet))

    def worker(slot: Slot) -> None:
        while True:
            with lock:
                if not pending:
                    return
                job = pending.pop()
            job(slot)

    threads = [threading.Thread(target=worker, args=(slot,), daemon=True) for slot in kueue_box.slots[:slots]]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():  # a timed join lets an interrupt reach the caller (which stops the box)
            thread.join(0.5)
