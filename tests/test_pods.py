"""The predictor pod both sides of a differential run charge (generator.admission.pods): the simulator charges each
model exactly that pod's requests, and the stand-in for KServe creates exactly that pod."""

from __future__ import annotations

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
        assert [c["name"] for c in pod["containers"]] == [MODEL_CONTAINER] and pod["containers"][0]["image"] == IMAGE
        spec = predictor_pod_spec(service)
        assert pod_requests(pod) == pod_requests(spec)
        assert model_workload(service, OBJECTS, name=name, creation=0).requests == pod_requests(spec)
        assert pod_requests(spec) == pod_requests({"containers": [service["spec"]["predictor"]["model"]]})


def test_the_pod_keeps_what_kueue_and_the_scheduler_read() -> None:
    for service in OBJECTS.services.values():
        predictor, spec = service["spec"]["predictor"], predictor_pod_spec(service)
        for field in ("nodeSelector", "affinity", "tolerations", "priorityClassName"):
            assert spec.get(field) == (predictor.get(field) or None), field
