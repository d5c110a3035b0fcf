"""A failed upload or registration Job stops the models that need it on every attempt of a sync, retries included
(tests/argocd_sync.py follows Argo CD's waves, health and retries), and on the next sync too."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from argocd_sync import FAILED_TASKS, Cluster, key, sync
from conftest import VALID, load_named
from generator.render.common import Tree


def applications(tree: Tree) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for path, docs in tree.items() if path.startswith("gitops/argocd/app-of-apps/")
            for d in docs if d["kind"] == "Application"}


def documents_of(tree: Tree, application: dict[str, Any]) -> list[dict[str, Any]]:
    """What the Application's path holds (a base path: its files are its resources)."""
    path = application["spec"]["source"]["path"] + "/"
    return [d for file, docs in tree.items() if file.startswith(path) for d in docs if d["kind"] != "Kustomization"]


def failing(name_prefix: str) -> Cluster:
    """A cluster where the Job whose name starts with `name_prefix` fails (Degraded) and everything else is healthy."""
    return Cluster(health=lambda doc: "Degraded" if doc["kind"] == "Job" and doc["metadata"]["name"].startswith(name_prefix)
                   else "Healthy")


def served(attempts: list[Any]) -> set[str]:
    return {name for attempt in attempts for kind, _, name in attempt.applied if kind == "InferenceService"}


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    tree = load_named("default").tree
    application = applications(tree)["step-05-llm-on-vllm"]
    return application, documents_of(tree, application)


def test_a_failed_upload_stops_its_models_on_every_attempt(demo: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    application, documents = demo
    attempts = sync(application, documents, failing("upload-mistral-small-24b-"))
    assert len(attempts) == 1 + application["spec"]["syncPolicy"]["retry"]["limit"]
    assert all(a.phase == "Failed" and a.message == FAILED_TASKS for a in attempts)
    assert all(kind == "Job" for a in attempts for kind, _, _ in a.failed)
    assert served(attempts) == set()  # not only Mistral-3 BF16 and Devstral-2, which need those weights: no model


def test_a_failed_registration_stops_the_models_on_every_attempt(demo: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    application, documents = demo
    attempts = sync(application, documents, failing("register-models-"))
    assert [a.phase for a in attempts] == ["Failed"] * 6
    assert served(attempts) == set()


def test_the_next_commit_does_not_serve_them_either(demo: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    """A new revision that changes something else starts a new operation: the failed Job is applied and waited for again."""
    application, documents = demo
    cluster = failing("upload-mistral-small-24b-")
    sync(application, documents, cluster)
    changed = copy.deepcopy(documents)
    runtime = next(d for d in changed if d["kind"] == "ServingRuntime")
    runtime["metadata"]["annotations"]["openshift.io/display-name"] = "vLLM, renamed"
    attempts = sync(application, changed, cluster)
    assert attempts[0].phase == "Failed" and ("ServingRuntime", "private-ai", "vllm-runtime") not in attempts[0].applied
    assert served(attempts) == set()


def test_the_option_the_tree_drops_would_serve_them_on_the_first_retry(
        demo: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    """With ApplyOutOfSyncOnly=true the retry skips the in-sync failed Job and applies the later waves."""
    application, documents = demo
    old = copy.deepcopy(application)
    old["spec"]["syncPolicy"]["syncOptions"].append("ApplyOutOfSyncOnly=true")
    attempts = sync(old, documents, failing("upload-mistral-small-24b-"))
    assert attempts[0].phase == "Failed" and not served(attempts[:1])
    assert attempts[1].phase == "Succeeded"
    assert {"mistral-3-bf16", "devstral-2"} <= served(attempts[1:2])


def test_when_every_job_succeeds_the_models_come_last(demo: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    application, documents = demo
    [attempt] = sync(application, documents, Cluster())
    assert attempt.phase == "Succeeded"
    kinds = [kind for kind, _, _ in attempt.applied]
    assert kinds.index("InferenceService") > max(i for i, k in enumerate(kinds) if k == "Job")
    assert len(attempt.applied) == len({key(d) for d in documents})


@pytest.mark.parametrize("name", ["default", *VALID])
def test_only_applications_without_jobs_apply_out_of_sync_resources_only(name: str) -> None:
    tree = load_named(name).tree
    for application in applications(tree).values():
        options = application["spec"]["syncPolicy"]["syncOptions"]
        path = application["spec"]["source"]["path"]
        jobs = any(d["kind"] == "Job" for file, docs in tree.items() if file.startswith(path.split("/overlays/")[0] + "/")
                   for d in docs)
        assert ("ApplyOutOfSyncOnly=true" in options) == (not jobs), application["metadata"]["name"]
        assert application["spec"]["syncPolicy"]["retry"]["limit"] > 0
