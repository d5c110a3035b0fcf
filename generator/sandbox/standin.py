"""What a differential run (generator.sandbox.differential) creates in the box for one portfolio: the tree's Kueue
objects and the portfolio's GPU Nodes under a run's names, and, per model, the Deployment KServe would make.

Names. A run's objects carry a prefix (`d3r12-`: slot 3, its twelfth run) in every name Kueue reads (ResourceFlavors,
ClusterQueues, Cohorts, WorkloadPriorityClasses, namespaces; a LocalQueue keeps its name, which the pods' queue-name
label gives, in a namespace of the run) and the label `differential.gpuaas.io/run`. One prefix for all names keeps
their order, so Kueue's and the simulator's tie-breaks by name are unchanged. Nodes belong to the slot, not to a run
(`d3-gpu-0-1`, label `differential.gpuaas.io/slot`), so a run can keep the last run's Nodes when they are the same; each
ResourceFlavor adds the slot label to its nodeLabels, so a slot's pods land on its own Nodes only (no pod selects that
key, so Kueue's flavor assignment is unchanged).

The stand-in for KServe. KServe's RawDeployment reconciler makes a Deployment `<model>-predictor` from the
InferenceService; the stand-in keeps what Kueue and the scheduler read of it: the labels `kueue.x-k8s.io/queue-name`
and `kueue.x-k8s.io/priority-class` (on the Deployment and its pod template, as KServe copies the InferenceService's
labels), one replica, the predictor's deployment strategy, and the pod template of
generator.admission.pods.predictor_pod_spec: the containers and init containers with their resources (what Kueue
charges: the model container and what OpenShift AI's KServe adds beside it, as the simulator does),
nodeSelector, affinity, tolerations, priorityClassName. Images are placeholders (kwok runs nothing).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from generator.admission.plan import PRIORITY_LABEL, QUEUE_LABEL
from generator.admission.pods import predictor_pod_spec
from generator.model.portfolio import Portfolio
from generator.render.common import Tree
from generator.sandbox.errors import SandboxError
from generator.sandbox.kueue import MANAGED_LABEL
from generator.sandbox.nodes import WORKER_ROLE_LABEL, node_documents

SLOT_LABEL = "differential.gpuaas.io/slot"
RUN_LABEL = "differential.gpuaas.io/run"
MODEL_LABEL = "differential.gpuaas.io/model"
IMAGE = "registry.invalid/differential/model:1"  # never pulled: kwok runs no container
# The Kueue kinds a run creates, in the order it creates them (what a ClusterQueue names exists before it).
PLURALS = {"WorkloadPriorityClass": "workloadpriorityclasses", "ResourceFlavor": "resourceflavors", "Cohort": "cohorts",
           "ClusterQueue": "clusterqueues", "LocalQueue": "localqueues"}


def run_documents(tree: Tree, prefix: str, slot: str) -> list[dict[str, Any]]:
    """The tree's Kueue objects (in the apiVersion the tree writes) under the run's names, in creation order."""
    run = prefix.rstrip("-")
    found = [copy.deepcopy(d) for docs in tree.values() for d in docs if d.get("kind") in PLURALS]
    found.sort(key=lambda d: list(PLURALS).index(d["kind"]))
    for doc in found:
        old = doc["metadata"]
        doc["metadata"] = {"name": old["name"], "labels": {RUN_LABEL: run, SLOT_LABEL: slot}}
        if old.get("namespace"):
            doc["metadata"]["namespace"] = prefix + old["namespace"]
        else:
            doc["metadata"]["name"] = prefix + old["name"]
        spec = doc.get("spec") or {}
        if doc["kind"] == "ResourceFlavor":
            doc["spec"] = {**spec, "nodeLabels": {**(spec.get("nodeLabels") or {}), SLOT_LABEL: slot}}
        elif doc["kind"] in ("ClusterQueue", "Cohort"):
            for key in ("cohort", "cohortName", "parentName"):
                if spec.get(key):
                    spec[key] = prefix + spec[key]
            for group in spec.get("resourceGroups") or []:
                for flavor in group.get("flavors") or []:
                    flavor["name"] = prefix + flavor["name"]
        elif doc["kind"] == "LocalQueue":
            spec["clusterQueue"] = prefix + spec["clusterQueue"]
    return found


def namespace_documents(namespaces: Sequence[str], prefix: str, slot: str) -> list[dict[str, Any]]:
    run = prefix.rstrip("-")
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": prefix + name, "labels": {MANAGED_LABEL: "true", RUN_LABEL: run, SLOT_LABEL: slot}}}
        for name in sorted(set(namespaces))]


def held_back_flavor(documents: Sequence[dict[str, Any]]) -> str:
    """The ResourceFlavor every ClusterQueue names: created last, it makes them all active at once."""
    queues = [d for d in documents if d["kind"] == "ClusterQueue"]
    named = [{f["name"] for g in q["spec"].get("resourceGroups") or [] for f in g.get("flavors") or []} for q in queues]
    common = set.intersection(*named) if named else set()
    flavors = [d["metadata"]["name"] for d in documents if d["kind"] == "ResourceFlavor" and d["metadata"]["name"] in common]
    if not flavors:
        raise SandboxError("differential: no ResourceFlavor is named by every ClusterQueue, so the baseline cannot be "
                           "queued before Kueue admits any of it")
    return str(flavors[0])


def standin_deployment(service: dict[str, Any], prefix: str, slot: str) -> dict[str, Any]:
    """The Deployment KServe makes for the InferenceService's predictor, as far as Kueue and the scheduler read it."""
    meta, predictor = service["metadata"], service["spec"]["predictor"]
    labels = meta.get("labels") or {}
    kueue = {QUEUE_LABEL: labels[QUEUE_LABEL]} if QUEUE_LABEL in labels else {}
    if labels.get(PRIORITY_LABEL):
        kueue[PRIORITY_LABEL] = prefix + labels[PRIORITY_LABEL]
    pod = copy.deepcopy(predictor_pod_spec(service))
    for container in [*pod["containers"], *pod.get("initContainers", [])]:
        container.setdefault("image", IMAGE)
    pod["terminationGracePeriodSeconds"] = 0  # nothing runs in a kwok pod; a stop need not wait 30 s
    model = meta["name"]
    mine = {RUN_LABEL: prefix.rstrip("-"), SLOT_LABEL: slot}
    strategy = (predictor.get("deploymentStrategy") or {}).get("type") or "RollingUpdate"
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": f"{model}-predictor", "namespace": prefix + meta["namespace"], "labels": {**kueue, **mine}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {MODEL_LABEL: model}}, "strategy": {"type": strategy},
                 "template": {"metadata": {"labels": {**kueue, **mine, MODEL_LABEL: model}}, "spec": pod}},
    }


def slot_nodes(portfolio: Portfolio, tree: Tree, slot: str) -> list[dict[str, Any]]:
    """The portfolio's GPU Nodes (generator.sandbox.nodes), named and labelled for the slot."""
    nodes = []
    for node in node_documents(portfolio, tree):
        labels = node["metadata"]["labels"]
        if WORKER_ROLE_LABEL in labels:
            continue  # CPU workers hold Job pods; a differential run makes none
        name = f"{slot}-{node['metadata']['name']}"
        node["metadata"]["name"] = name
        node["metadata"]["labels"] = {**labels, "kubernetes.io/hostname": name, SLOT_LABEL: slot}
        nodes.append(node)
    return nodes


def collection(doc: dict[str, Any]) -> str:
    """The API path a document is created at."""
    api = doc["apiVersion"]
    base = f"/apis/{api}" if "/" in api else f"/api/{api}"
    namespace = doc["metadata"].get("namespace")
    plural = PLURALS.get(doc["kind"]) or {"Deployment": "deployments", "Namespace": "namespaces", "Node": "nodes"}[doc["kind"]]
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"
