"""A model's annotations never reorder the sync, make it a hook, or change how KServe serves and guards it."""

from __future__ import annotations

import pytest

from conftest import MINIMAL_TEXT, load_text, problems_in
from generator.checks.annotations import reason_owned
from generator.render.common import SYNC_WAVE, metadata


@pytest.mark.parametrize("key", ["argocd.argoproj.io/sync-wave", "argocd.argoproj.io/hook", "argocd.argoproj.io/hook-delete-policy",
                                 "argocd.argoproj.io/sync-options", "argocd.argoproj.io/compare-options",
                                 "argocd.argoproj.io/tracking-id", "argocd.argoproj.io/anything-new",
                                 "serving.kserve.io/deploymentMode", "security.opendatahub.io/enable-auth",
                                 "serving.kserve.io/stop", "internal.serving.kserve.io/storage-spec"])
def test_keys_that_steer_the_sync_or_the_serving_are_the_generators(key: str) -> None:
    assert reason_owned(key)


@pytest.mark.parametrize("key", ["link.argocd.argoproj.io/external-link", "opendatahub.io/connections", "example.com/team"])
def test_other_annotations_are_the_portfolios(tmp_path, key: str) -> None:
    assert reason_owned(key) is None
    loaded = load_text(tmp_path, MINIMAL_TEXT + f"    annotations:\n      {key}: value\n")
    [isvc] = [d for docs in loaded.tree.values() for d in docs if d["kind"] == "InferenceService"]
    assert isvc["metadata"]["annotations"][key] == "value"


def test_the_message_says_why(tmp_path) -> None:
    [problem] = problems_in(tmp_path, MINIMAL_TEXT + '    annotations:\n      argocd.argoproj.io/sync-wave: "-10"\n')
    assert problem.rule == "ANN001" and "orders the sync" in problem.message and "LocalQueue" in problem.message


def test_the_generated_wave_wins_over_any_annotation_given_to_the_renderer() -> None:
    meta = metadata("m", annotations={SYNC_WAVE: "-10", "a": "b"}, wave="inference")
    assert meta["annotations"] == {SYNC_WAVE: "3", "a": "b"}
