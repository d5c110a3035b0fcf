"""The predictor pod both sides of a differential run charge (generator.admission.pods): the simulator charges each
model exactly that pod's requests, and the stand-in for KServe creates exactly that pod: the model container and what
OpenShift AI's KServe adds beside it."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from conftest import DEMO
from generator.admission.kueue import pod_requests
from generator.admission.plan import kueue_objects, model_workload
from generator.admission.pods import MODEL_CONTAINER, predictor_pod_spec
from generator.pipeline import prepare
from generator.sandbox.standin import IMAGE, standin_deployment

LOADED = prepare(DEMO, display_name="portfolio.yaml")
OBJECTS = kueue_objects(LOADED.tree)


def test_the_simulator_charges_each_model_the_pod_the_stand_in_creates() -> None:
    assert OBJECTS.services
    for name, service in OBJECTS.services.items():
        pod = standin_deployment(service, "d0r1-", "d0")["spec"]["template"]["spec"]
        assert pod["containers"][0]["name"] == MODEL_CONTAINER and pod["containers"][0]["image"] == IMAGE
        spec = predictor_pod_spec(service)
        assert pod_requests(pod) == pod_requests(spec)
        assert model_workload(service, OBJECTS, name=name, creation=0).requests == pod_requests(spec)


MI = Decimal(2**20)
# What OpenShift AI 3.0's KServe adds to a pod's charge beyond the model container (cluster/README.md): the
# kube-rbac-proxy of an authenticated model (100m, 64Mi); a ModelCar's container (10m, 15Mi; its init container of the
# same size runs before, so it adds nothing more); the storage initializer of an s3:// model (an init container of
# 100m and 100Mi, smaller than the model container, so it adds nothing).
ADDED = {("s3", True): {"cpu": Decimal("0.1"), "memory": 64 * MI}, ("s3", False): {},
         ("oci", True): {"cpu": Decimal("0.11"), "memory": 79 * MI}, ("oci", False): {"cpu": Decimal("0.01"), "memory": 15 * MI}}


@pytest.mark.parametrize(("scheme", "auth"), sorted(ADDED))
def test_each_model_is_charged_what_openshift_ai_adds_beside_its_container(scheme: str, auth: bool) -> None:
    chosen = [s for s in OBJECTS.services.values() if s["spec"]["predictor"]["model"]["storageUri"].startswith(f"{scheme}://")]
    assert chosen, f"the demo has no {scheme}:// model"
    for original in chosen:
        service = copy.deepcopy(original)
        service["metadata"].setdefault("annotations", {})["security.opendatahub.io/enable-auth"] = str(auth).lower()
        alone = pod_requests({"containers": [service["spec"]["predictor"]["model"]]})
        charged = pod_requests(predictor_pod_spec(service))
        assert {k: v - alone[k] for k, v in charged.items() if v != alone[k]} == ADDED[(scheme, auth)]


def test_the_pod_keeps_what_kueue_and_the_scheduler_read() -> None:
    for service in OBJECTS.services.values():
        predictor, spec = service["spec"]["predictor"], predictor_pod_spec(service)
        for field in ("nodeSelector", "affinity", "tolerations", "priorityClassName"):
            assert spec.get(field) == (predictor.get(field) or None), field
