"""The operating sections of the runbook, each built from `RunbookFacts` only."""

from __future__ import annotations

import json
from decimal import Decimal

from generator.admission.plan import Cluster
from generator.admission.present import quota_lines
from generator.model.derive import flavor_node_labels, model_callers
from generator.model.portfolio import Model
from generator.render.argocd import HEALTH_CHECKS, controller_service_account, health_check_entries, health_check_patch
from generator.runbook.model import (
    Block,
    Command,
    Raw,
    RunbookFacts,
    Section,
    Shell,
    admission_lines,
    capture,
    env_name,
    escape_key,
    predictor,
    service_lines,
    services_command,
    sh,
    shell_variable,
    table,
    word,
    workloads_command,
)

MACHINE_API = "openshift-machine-api"
INSTANCE_TYPE_PATH = ".spec.template.spec.providerSpec.value.instanceType"
KUEUE_MANAGED = "kueue.openshift.io/managed"
CONNECTION_LABELS = {"opendatahub.io/managed": "true", "opendatahub.io/dashboard": "true"}
CONNECTION_TYPE = "opendatahub.io/connection-type"
QUIET = Raw(">/dev/null")


def _label_selector(labels: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" if v else k for k, v in labels.items())


def _equals(command: Shell, expected: str) -> Shell:
    """A check that succeeds when the command prints exactly `expected`."""
    return sh("test", Raw(f'"$({command})"'), "=", expected)


def _contains(command: Shell, word: str) -> Shell:
    return sh(command, Raw("|"), "grep", "-qw", word)


def _preemption_policy(fair_sharing: bool) -> Block:
    """Fair sharing is a setting of the whole cluster's Kueue, not of an object the tree holds: the portfolio says which
    the cluster runs (kueue.fairSharing), and the simulation only holds when it does."""
    policy = sh("oc", "get", "kueue", "cluster", "-o", "jsonpath={.spec.config.preemption.preemptionPolicy}")
    wanted = "FairSharing" if fair_sharing else "Classical"
    patch = sh("oc", "patch", "kueue", "cluster", "--type=merge", "-p",
               json.dumps({"spec": {"config": {"preemption": {"preemptionPolicy": wanted}}}}))
    if fair_sharing:
        return Block(
            "The cluster's Kueue runs with fair sharing, as the portfolio says (kueue.fairSharing): the Kueue object's "
            "spec.config.preemption.preemptionPolicy is FairSharing. With Classical, the default, Kueue ignores the "
            "teams' and cohorts' weights and preempts classically, and the plan and scenarios would not hold. Set here "
            "when missing.",
            [Command(policy, "FairSharing"), Command(patch, unless=_equals(policy, "FairSharing"))])
    return Block(
        "The cluster's Kueue preempts classically, as the portfolio says (no kueue.fairSharing): the Kueue object's "
        "spec.config.preemption.preemptionPolicy is Classical or unset. With FairSharing, Kueue would share the "
        "cohorts' GPUs by weights the portfolio does not give, and the plan and scenarios would not hold. Set here when "
        "it is FairSharing.",
        [Command(policy, "Classical (or nothing: Classical is the default)"),
         Command(patch, unless=sh("test", Raw(f'"$({policy})"'), "!=", "FairSharing"))])


def prerequisites(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    s3 = p.storage.s3
    gpu = p.cluster.gpu_resource
    section = Section("prerequisites", "Prerequisites",
                      "What the cluster must have before the tree is synced: the operators, the namespaces of earlier steps, "
                      "Kueue managing the serving namespace with the Deployment integration, the GPU nodes of every flavor "
                      "carrying the labels the flavors select, Argo CD's permissions, and the Secrets the tree references. "
                      "Each check says how to fix what it finds.")
    section.blocks.append(Block(
        "OpenShift AI (KServe), Kueue and OpenShift GitOps are installed: their CRDs exist.",
        [Command(sh("oc", "get", "crd", "inferenceservices.serving.kserve.io", "servingruntimes.serving.kserve.io",
                    "clusterqueues.kueue.x-k8s.io", "localqueues.kueue.x-k8s.io", "applications.argoproj.io"),
                 "five CRDs listed, none NotFound")]))
    created = facts.created_namespaces
    namespaces = [n for n in facts.namespaces if n not in created]
    section.blocks.append(Block(
        "The namespaces exist (created by earlier steps; " + ("the tree creates only the teams' namespaces, labelled)."
                                                             if created else "the tree does not create them)."),
        [Command(sh("oc", "get", "namespace", *namespaces), "\n".join(f"{n}   Active" for n in namespaces))]))
    for namespace in (n for n in facts.serving_namespaces if n not in created):
        label = sh("oc", "get", "namespace", namespace, "-o", f"jsonpath={{.metadata.labels.{escape_key(KUEUE_MANAGED)}}}")
        section.blocks.append(Block(
            f"Kueue manages a namespace only when it carries {KUEUE_MANAGED}=true: without it Kueue creates no Workloads "
            f"and the queue label does nothing (models would run outside the quota). Labelled here when missing.",
            [Command(label, "true"),
             Command(sh("oc", "label", "namespace", namespace, f"{KUEUE_MANAGED}=true", "--overwrite"),
                     unless=_equals(label, "true"))]))
    frameworks = sh("oc", "get", "kueue", "cluster", "-o", "jsonpath={.spec.config.integrations.frameworks}")
    section.blocks.append(Block(
        "The Kueue configuration lists the Deployment framework, which KServe's predictor Deployments need; without "
        "it their pods are never queued. Added here when missing.",
        [Command(frameworks, '[..., "Deployment", ...]'),
         Command(sh("oc", "patch", "kueue", "cluster", "--type=json", "-p",
                    json.dumps([{"op": "add", "path": "/spec/config/integrations/frameworks/-", "value": "Deployment"}])),
                 unless=_contains(frameworks, "Deployment"))]))
    if p.kueue.fair_sharing or p.teams:
        section.blocks.append(_preemption_policy(p.kueue.fair_sharing))
    taint = p.cluster.gpu_taint
    for flavor in p.flavors:
        var = f"MACHINESET_{env_name(flavor.name)}"
        labels = flavor_node_labels(flavor)
        selector = _label_selector(labels)
        columns = f"NAME:.metadata.name,GPUS:.status.allocatable.{escape_key(gpu)}"
        section.blocks.append(Block(
            f"GPU nodes of flavor {flavor.name}: {flavor.nodes} x {flavor.instance_type} with {flavor.gpus_per_node} GPU(s), "
            f"{flavor.cpu_per_node} CPU and {flavor.memory_per_node} allocatable each, tainted {taint.key}={taint.value}:"
            f"{taint.effect}. Scale its MachineSet and wait for the machines. The last check lists the nodes that carry "
            f"the flavor's node labels ({selector}): if it lists none, every pod Kueue admits on this flavor stays "
            "Pending; fix the flavor's nodeLabels in portfolio.yaml (labels from a MachineSet's template metadata do not "
            "reach the node).",
            [
                Command(capture(var, sh("oc", "get", "machineset", "-n", MACHINE_API, "-o",
                                        f'jsonpath={{.items[?(@{INSTANCE_TYPE_PATH}=="{flavor.instance_type}")].metadata.name}}'))),
                Command(sh("oc", "scale", "machineset", Raw(f'"${var}"'), "-n", MACHINE_API, f"--replicas={flavor.nodes}")),
                Command(sh("oc", "wait", Raw(f'machineset/"${var}"'), "-n", MACHINE_API,
                           f"--for=jsonpath={{.status.readyReplicas}}={flavor.nodes}", "--timeout=30m")),
                Command(sh("oc", "get", "nodes", "-l", selector, "-o", f"custom-columns={columns}"),
                        "\n".join(table([("NAME", "GPUS"), *((f"<node-{i}>", str(flavor.gpus_per_node))
                                                             for i in range(1, flavor.nodes + 1))]))),
            ]))
    total_gpus = sum(f.gpus_per_node * f.nodes for f in p.flavors)
    quota_gpus = sum(f.quota.gpus for f in p.flavors)
    section.blocks.append(Block(
        f"The GPU nodes offer what the quota promises: {total_gpus} allocatable GPUs for a nominal quota of {quota_gpus}.",
        [Command(sh("oc", "get", "nodes", "-l", "nvidia.com/gpu.present=true", "-o",
                    f"custom-columns=NAME:.metadata.name,TYPE:.metadata.labels.{escape_key('node.kubernetes.io/instance-type')},"
                    f"GPUS:.status.allocatable.{escape_key(gpu)}"),
                 "\n".join(f"<node>   {f.instance_type}   {f.gpus_per_node}" for f in p.flavors for _ in range(f.nodes)))]))
    profiles = _hardware_profiles(facts)
    if profiles:
        namespace = p.cluster.hardware_profile_namespace
        section.blocks.append(Block(
            f"The dashboard's HardwareProfiles that the InferenceServices name exist in {namespace} (the "
            "opendatahub.io/hardware-profile-name annotation; one per flavor, named like it): a missing one leaves the "
            "model without its profile in the dashboard. Create it in the dashboard (Settings, Hardware profiles) when "
            "the check lists it NotFound; renaming a flavor names a new one.",
            [Command(sh("oc", "get", "hardwareprofiles.infrastructure.opendatahub.io", "-n", namespace, *profiles,
                        "-o", "name"),
                     "\n".join(f"hardwareprofile.infrastructure.opendatahub.io/{name}" for name in profiles))]))
    section.blocks.append(_argocd_permissions(facts))
    if facts.uploads:
        section.blocks.append(Block(
            "The weights need no manual upload: wave 1 of the tree runs one Job per distinct S3 source ("
            + "; ".join(f"{facts.upload_job(u)} copies {u.hugging_face} to s3://{s3.bucket}/{u.prefix}/ for {' and '.join(u.models)}"
                        for u in facts.uploads)
            + "), before any model starts; the OCI ModelCars are pulled by the nodes."))
    section.blocks += _secrets(facts)
    return section


def _health_check(facts: RunbookFacts) -> Block:
    """Merge the tree's health checks into the ArgoCD instance's list, keeping every other entry."""
    p = facts.portfolio
    argocd = ("argocd", p.gitops.argocd_instance, "-n", facts.argocd_namespace)
    listed = sh("oc", "get", *argocd, "-o", "jsonpath={range .spec.resourceHealthChecks[*]}{.group}/{.kind}{\"\\n\"}{end}")
    has_list = sh("oc", "get", *argocd, "-o", "jsonpath={.spec.resourceHealthChecks}", Raw("|"), "grep", "-q", ".")
    index = "$((HEALTH_CHECK_INDEX - 1))"
    commands = [Command(sh("oc", "patch", *argocd, "--type=json", "-p",
                           json.dumps([{"op": "add", "path": HEALTH_CHECKS, "value": []}])), unless=has_list)]
    entries = health_check_entries()
    for entry in entries:
        ours = f"{entry['group']}/{entry['kind']}"
        absent = sh("test", "-z", Raw('"$(' + sh(listed, Raw("|"), "grep", "-x", ours) + ')"'))
        remove = json.dumps([{"op": "test", "path": f"{HEALTH_CHECKS}/{index}/kind", "value": entry["kind"]},
                             {"op": "remove", "path": f"{HEALTH_CHECKS}/{index}"}])
        commands += [
            Command(capture("HEALTH_CHECK_INDEX", sh(listed, Raw("|"), "grep", "-m1", "-nx", ours, Raw("|"), "cut", "-d:", "-f1")),
                    unless=absent),
            Command(sh("oc", "patch", *argocd, "--type=json", "-p", Raw('"' + remove.replace('"', '\\"') + '"')), unless=absent),
            Command(sh("oc", "patch", *argocd, "--type=json", "-p", json.dumps(health_check_patch([entry]))))]
    kinds = " ".join(e["kind"] for e in entries)
    return Block(
        f"Argo CD's health checks for InferenceServices and Jobs, as a cluster administrator: added to the ArgoCD instance "
        f"{p.gitops.argocd_instance} with a JSON patch, so every other entry of its resourceHealthChecks list stays (applying "
        "a partial ArgoCD object would replace the whole list). The list is created when the instance has none; a check "
        "of the same kind already there (an older version of this one, or another) is removed first, as the operator "
        "keeps one check per kind. Ready models are Healthy, stopped ones Suspended, waiting ones Progressing with "
        "KServe's reason, failed ones Degraded; Argo CD's own check before v3.1.10 reports Ready models as Progressing. "
        "A Job is Healthy only once Complete and Progressing while Kueue holds it: Argo CD's own check calls a Job that "
        "Kueue suspended and resumed Healthy while it still runs, and the sync would start the models before their "
        "weights are uploaded.",
        [*commands, Command(sh("oc", "get", *argocd, "-o", "jsonpath={.spec.resourceHealthChecks[*].kind}"),
                            f"... {kinds} (any other checks of the instance before them)")])


def _hardware_profiles(facts: RunbookFacts) -> list[str]:
    """The HardwareProfiles the InferenceServices name that the tree does not render itself (it does with teams)."""
    rendered = {d["metadata"]["name"] for docs in facts.tree.values() for d in docs if d.get("kind") == "HardwareProfile"}
    named = {d["metadata"]["annotations"]["opendatahub.io/hardware-profile-name"] for docs in facts.tree.values()
             for d in docs if d.get("kind") == "InferenceService"}
    return sorted(named - rendered)


def _argocd_permissions(facts: RunbookFacts) -> Block:
    """Can Argo CD's application controller manage every kind of the tree where the tree puts it?"""
    p = facts.portfolio
    account = f"system:serviceaccount:{p.gitops.argocd_namespace}:{controller_service_account(p)}"
    checks: dict[tuple[str, str], None] = {}
    for path, documents in facts.tree.items():
        if not path.startswith(facts.serving_tree + "/"):
            continue  # the bootstrap is applied by an administrator, not by Argo CD
        for doc in documents:
            if doc.get("kind") == "Kustomization":
                continue
            group = str(doc["apiVersion"]).rpartition("/")[0]
            kind = str(doc["kind"]).lower()
            plural = kind[:-1] + "ies" if kind.endswith("y") else kind + ("es" if kind.endswith("s") else "s")
            resource = plural + (f".{group}" if group else "")
            checks[(resource, doc["metadata"].get("namespace", ""))] = None
    commands = [Command(sh("oc", "auth", "can-i", "create", resource, *(("-n", ns) if ns else ()), "--as", account),
                        "yes (and yes for each check below)" if index == 0 else "")
                for index, (resource, ns) in enumerate(checks)]
    return Block(
        f"Argo CD's application controller ({account}) may create every kind of the tree where the tree puts it. The "
        f"default OpenShift GitOps instance cannot create cluster-scoped Kueue objects: the bootstrap "
        f"({facts.bootstrap_dir}) grants exactly those kinds; a 'no' for a namespaced kind means the namespace is not "
        "managed by this Argo CD instance.", commands, "show")


def _secrets(facts: RunbookFacts) -> list[Block]:
    p = facts.portfolio
    s3 = p.storage.s3
    hf = p.hugging_face
    minio_keys = [Raw('--from-literal=AWS_ACCESS_KEY_ID="${MINIO_ACCESS_KEY:?export MINIO_ACCESS_KEY}"'),
                  Raw('--from-literal=AWS_SECRET_ACCESS_KEY="${MINIO_SECRET_KEY:?export MINIO_SECRET_KEY}"')]
    blocks = []
    connection = s3.connection_secret
    for namespace in facts.s3_namespaces:
        exists = sh("oc", "get", "secret", connection, "-n", namespace)
        entry = sh("oc", "get", "secret", "storage-config", "-n", namespace, "-o",
                   f"jsonpath={{.data.{escape_key(connection)}}}")
        blocks.append(Block(
            f"The S3 connection {connection} in {namespace}, the OpenShift AI data connection KServe reads: "
            "odh-model-controller copies every Secret labelled opendatahub.io/managed=true and opendatahub.io/dashboard=true "
            f"into the Secret storage-config, under the Secret's name, and the storage initializer reads the entry that "
            f"storage.key names ({connection}). Without the labels and the annotation {CONNECTION_TYPE}=s3 the entry "
            "is missing and every S3 model's pod is rejected. Created when missing from values you export "
            "(MINIO_ACCESS_KEY, MINIO_SECRET_KEY), then labelled and annotated; it never enters the tree.",
            [Command(sh("oc", "create", "secret", "generic", connection, "-n", namespace, *minio_keys,
                        f"--from-literal=AWS_S3_ENDPOINT={s3.endpoint}", f"--from-literal=AWS_S3_BUCKET={s3.bucket}",
                        "--from-literal=AWS_DEFAULT_REGION=us-east-1"), unless=exists),
             Command(sh("oc", "label", "secret", connection, "-n", namespace,
                        *(f"{k}={v}" for k, v in CONNECTION_LABELS.items()), "--overwrite")),
             Command(sh("oc", "annotate", "secret", connection, "-n", namespace, f"{CONNECTION_TYPE}=s3", "--overwrite")),
             Command(sh("oc", "wait", "secret/storage-config", "-n", namespace,
                        f"--for=jsonpath={{.data.{escape_key(connection)}}}", "--timeout=2m")),
             Command(sh(entry, Raw("|"), "base64", "-d"),
                     '{"type":"s3","access_key_id":"...","secret_access_key":"...","endpoint_url":"'
                     f'{s3.endpoint}","bucket":"{s3.bucket}","region":"us-east-1"}}')]))
    for namespace in facts.upload_namespaces:
        blocks.append(Block(
            f"The upload Jobs' Secrets in {namespace}, created only when missing: {s3.credentials_secret} (the "
            f"MinIO keys) and {hf.token_secret} (the Hugging Face token, for gated repositories; export HF_TOKEN).",
            [Command(sh("oc", "create", "secret", "generic", s3.credentials_secret, "-n", namespace, *minio_keys),
                     unless=sh("oc", "get", "secret", s3.credentials_secret, "-n", namespace)),
             Command(sh("oc", "create", "secret", "generic", hf.token_secret, "-n", namespace,
                        word("--from-literal=", hf.token_key, "=", Raw('"${HF_TOKEN:?export HF_TOKEN}"'))),
                     unless=sh("oc", "get", "secret", hf.token_secret, "-n", namespace))]))
    return blocks


def deploy(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    argo = facts.argocd_namespace
    apps = facts.applications
    deadline = p.jobs.active_deadline_seconds
    section = Section("deploy", "Deploy",
                      "One shot: apply the bootstrap once and let Argo CD sync every wave. Step by step: validate, dry-run "
                      "on the server, then follow each wave.")
    section.blocks.append(Block(
        "Check locally: the portfolio, the lint rules, the rendered documents and the scenarios.",
        [Command(sh("python", "-m", "generator", "validate"), "valid: ...")]))
    section.blocks.append(Block(
        "Dry-run the rendered tree against the API server (admission webhooks and CRD schemas included)"
        + (", the path of each Application in turn." if len(apps) > 1 else "."),
        [*(Command(sh("kubectl", "kustomize", path, Raw("|"), "oc", "apply", "--dry-run=server", "-f", "-"),
                   "every object: created (server dry run)" if index == 0 else "")
           for index, path in enumerate(facts.application_paths())),
         Command(sh("kubectl", "kustomize", facts.app_of_apps_dir, Raw("|"), "oc", "apply", "--dry-run=server", "-f", "-"))]))
    listed = f"the Application {apps[0]}" if len(apps) == 1 else (
        f"the platform's Application {apps[0]} and each team's two: its models, Jobs and runtime, and its callers' access")
    section.blocks.append(Block(
        f"Bootstrap, as a cluster administrator, once, and again whenever {facts.bootstrap_dir} changes (a kind the tree "
        f"holds for the first time{'; a new team' if p.teams else ''}): the root Application {p.gitops.app_of_apps} (it syncs "
        f"{facts.app_of_apps_dir}, which holds {listed}), the AppProject{'s' if p.teams else ''}, and the application "
        "controller's permissions on the tree's cluster-scoped kinds.",
        [Command(sh("oc", "apply", "-k", facts.bootstrap_dir)),
         Command(sh("oc", "wait", f"application/{p.gitops.app_of_apps}", "-n", argo,
                    "--for=jsonpath={.status.sync.status}=Synced", "--timeout=10m")),
         Command(sh("oc", "get", "application", *apps, "-n", argo), "\n".join(f"{a}   Synced" for a in apps))]))
    section.blocks.append(_health_check(facts))
    if facts.uploads:
        section.blocks.append(Block(
            "Wave 1: the uploads copy each distinct set of S3 weights once, only the files vLLM loads; the "
            "InferenceServices wait for them.",
            [Command(sh("oc", "wait", "--for=condition=complete", f"job/{facts.upload_job(u)}", "-n", u.namespace,
                        f"--timeout={deadline}s"), f"job.batch/{facts.upload_job(u)} condition met") for u in facts.uploads]))
        section.blocks.append(Block(
            "Follow an upload while it runs.",
            [Command(sh("oc", "logs", "-f", f"job/{facts.upload_job(u)}", "-n", u.namespace),
                     f"s3://{p.storage.s3.bucket}/{u.prefix}/ complete: N files") for u in facts.uploads], "show"))
    registrations = [cmd for namespace, jobs, models in facts.registration_jobs for cmd in (
        *(Command(sh("oc", "wait", "--for=condition=complete", f"job/{job}", "-n", namespace, "--timeout=15m"))
          for job in jobs),
        *(Command(sh("oc", "logs", f"job/{job}", "-n", namespace),
                  "\n".join(f"{m.name}: registered model ... created (or: already registered)" for m in models)
                  if index == 0 else "") for index, job in enumerate(jobs)))]
    section.blocks.append(Block(
        "Wave 2: the runtime, and every model registered in the Model Registry with its real storage URI (the "
        "registration Job's name carries a hash of the model list, so a changed list runs again).",
        [*(Command(sh("oc", "get", "servingruntime", p.runtime.name, "-n", ns), p.runtime.name)
           for ns in facts.serving_namespaces), *registrations]))
    running = [m for m in facts.baseline.models if m.state == "admitted"]
    section.blocks.append(Block(
        "Wave 3, the last: the InferenceServices. Argo CD ends the sync once they are applied; the models that run become "
        "Ready once Kueue admits their pods and a node holds them (stopped models stay Suspended in Argo CD).",
        [*(Command(sh("oc", "wait", f"application/{app}", "-n", argo,
                      "--for=jsonpath={.status.operationState.phase}=Succeeded", "--timeout=30m"))
           for app in facts.serving_applications),
         *(Command(sh("oc", "wait", "--for=condition=Ready", f"inferenceservice/{m.name}", "-n", facts.namespace_of(m.name),
                      "--timeout=45m"), f"inferenceservice.serving.kserve.io/{m.name} condition met") for m in running)]))
    return section


def verify(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    baseline = facts.baseline
    section = Section("verify", "Verify", "The baseline as the simulator predicts it: what each command should show.")
    running = [m.name for m in facts.active]
    commands = [Command(services_command(facts.scope), service_lines(baseline))]
    states = {m.name: m.state for m in baseline.models}
    for ns, names in facts.by_namespace(running).items():
        commands.append(Command(
            sh("oc", "get", "deployment", *(predictor(m) for m in names), "-n", ns, "-o",
               "custom-columns=NAME:.metadata.name,READY:.status.readyReplicas,WANTED:.spec.replicas"),
            "\n".join(table([("NAME", "READY", "WANTED"), *((predictor(m), "1" if states[m] == "admitted" else "<none>", "1")
                                                            for m in names)]))))
    stopped = [m.name for m in facts.models if m.state != "active"]
    text = "The InferenceServices: the active ones Ready, the queued ones stopped"
    text += f" (no Deployment, no pod: {', '.join(stopped)})." if stopped else "."
    section.blocks.append(Block(text, commands))
    gpu_used = sum((q.used for q in baseline.quota if q.resource == p.cluster.gpu_resource), Decimal(0))
    gpu_nominal = sum((q.nominal for q in baseline.quota if q.resource == p.cluster.gpu_resource), Decimal(0))
    section.blocks.append(Block(
        f"Kueue admitted the baseline: {gpu_used:f} of {gpu_nominal:f} GPUs in use.", [
            Command(workloads_command(facts.scope, facts.gpu), admission_lines(baseline, running)),
            *(Command(sh("oc", "get", "localqueue", p.kueue.local_queue, "-n", ns), f"{p.kueue.local_queue}   {queue}")
              for ns, queue in facts.local_queues),
            Command(sh("oc", "get", "clusterqueue", *dict.fromkeys(q.queue for q in baseline.quota), "-o",
                       "jsonpath={.status.flavorsUsage}"), "\n".join(quota_lines(baseline.quota))),
        ]))
    return section


def _model_url(facts: RunbookFacts, model: Model, index: int) -> tuple[str, list[Command]]:
    """The variable that holds the model's base URL, and the commands that set it."""
    ns = facts.namespace_of(model.name)
    var = shell_variable(model.name, "URL")
    if model.exposure == "exposed":
        return var, [Command(capture(var, sh("oc", "get", "inferenceservice", model.name, "-n", ns, "-o",
                                             "jsonpath={.status.url}")))]
    # Internal only: no Route; the predictor Service answers on 8443 behind the proxy, or on 80 without auth.
    local = 18000 + index
    remote, scheme = (8443, "https") if model.auth else (80, "http")
    pid = shell_variable(model.name, "FORWARD_PID")
    return var, [
        Command(sh("oc", "port-forward", "-n", ns, f"service/{predictor(model.name)}", f"{local}:{remote}", QUIET, Raw("&"))),
        Command(sh(Raw(f"{pid}=$!"))),
        Command(sh(Raw(f"{var}={scheme}://127.0.0.1:{local}"))),
        Command(sh("curl", "-sk", "-o", "/dev/null", "--retry", 15, "--retry-connrefused", "--retry-delay", 1,
                   Raw(f'"${var}/v1/models"'))),
    ]


def smoke_test(facts: RunbookFacts) -> Section:
    ns = facts.serving_namespaces[0] if len(facts.serving_namespaces) == 1 else "<namespace>"
    section = Section("smoke-test", "Smoke test",
                      f"Each model serves the OpenAI-compatible API; the served model name is the model name. An exposed "
                      f"model answers at its Route (https://<model>-{ns}.<apps domain>), an internal one only inside the "
                      "cluster (here through a port-forward to its predictor Service). With auth on (the default) the "
                      "request carries a token of a caller the portfolio names (`oc create token`), and a request "
                      "without one is refused. Queued models answer once switched on (state: active).")
    running = {m.name for m in facts.baseline.models if m.state == "admitted"}
    for index, model in enumerate(facts.models):
        var, commands = _model_url(facts, model, index)
        base = f'"${var}'
        auth: list[str | Raw] = []
        callers = model_callers(model, facts.portfolio)
        if callers:
            token = shell_variable(model.name, "TOKEN")
            commands.append(Command(capture(token, sh("oc", "create", "token", callers[0], "-n", facts.namespace_of(model.name),
                                                      "--duration=10m"))))
            commands.append(Command(sh("curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", Raw(f'{base}/v1/models"')),
                                    "401 (or 403): no token, no answer"))
            auth = ["-H", Raw(f'"Authorization: Bearer ${token}"')]
        chat = {"model": model.name, "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
                "max_tokens": 64}
        commands += [
            Command(sh("curl", "-sSk", "--fail", "--max-time", 60, *auth, Raw(f'{base}/v1/models"')),
                    f'{{"object":"list","data":[{{"id":"{model.name}", ...}}]}}'),
            Command(sh("curl", "-sSk", "--fail", "--max-time", 120, *auth, Raw(f'{base}/v1/chat/completions"'),
                       "-H", "Content-Type: application/json", "-d", json.dumps(chat)),
                    '{"object":"chat.completion", "choices":[{"message":{"content":"Hello..."}}]}'),
        ]
        if model.vllm.tool_call_parser:
            tools = {**chat, "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
                     "tools": [{"type": "function", "function": {
                         "name": "get_weather", "description": "Current weather of a city",
                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
                     "tool_choice": "auto"}
            commands.append(Command(
                sh("curl", "-sSk", "--fail", "--max-time", 120, *auth, Raw(f'{base}/v1/chat/completions"'),
                   "-H", "Content-Type: application/json", "-d", json.dumps(tools)),
                f'"tool_calls":[{{"function":{{"name":"get_weather","arguments":"{{\\"city\\": \\"Paris\\"}}"}}}}] '
                f"(parser {model.vllm.tool_call_parser})"))
        if model.exposure == "internal":
            commands.append(Command(sh("kill", Raw(f'"${shell_variable(model.name, "FORWARD_PID")}"'))))
        state = "runs at baseline: part of the one-shot script" if model.name in running else "not running at baseline"
        where = "exposed" if model.exposure == "exposed" else "internal only"
        guard = f"callers: {', '.join(callers)}" if callers else "no authentication (SEC005)"
        section.blocks.append(Block(f"{model.display_name} ({model.name}, {state}; {where}, {guard}).", commands,
                                    "run" if model.name in running else "show"))
    return section


def troubleshoot(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    scope = facts.scope
    queued = [m for m in facts.models if m.state == "queued"]
    section = Section("troubleshoot", "Troubleshoot", "Symptoms seen on this demo, how to confirm them, and the fix.")
    blocks = []
    example = queued[0].name if queued else facts.models[0].name
    simulated = Cluster(p, facts.tree).apply(enable=[example]).model(example)
    blocks.append(Block(
        "A model stays pending: Kueue has no quota for it. Compare with the simulation; free quota by stopping another "
        "model (state: queued).",
        [Command(workloads_command(scope, facts.gpu)),
         Command(sh("oc", "describe", "clusterqueue", facts.queue_of(example))),
         Command(sh("python", "-m", "generator", "plan", "--enable", example),
                 f"{example}  {simulated.gpus}  {simulated.state}  {simulated.flavor or '-'}  {simulated.reason}".rstrip())],
        "show"))
    blocks.append(Block(
        "A model Kueue admitted stays Pending: no node of its flavor has room, or no node carries the flavor's node "
        "labels (labels from a MachineSet template never reach the node). The pod's events say which; `plan` shows "
        "'unschedulable' when the portfolio's nodes cannot hold it.",
        [Command(sh("oc", "get", "pods", *scope, "--field-selector=status.phase=Pending")),
         Command(sh("oc", "get", "events", *scope, "--field-selector", "reason=FailedScheduling"))], "show"))
    blocks.append(Block(
        "Models never get a Workload, or CPU-only pods of the namespace wait in SchedulingGated: check the namespace "
        f"label {KUEUE_MANAGED}, the Deployment framework (prerequisites), and that the LocalQueue is not a default "
        "queue (kueue.defaultQueue), which queues every pod of the namespace.",
        [Command(sh("oc", "get", "namespace", *facts.serving_namespaces, "--show-labels")),
         *(Command(sh("oc", "get", "localqueue", p.kueue.local_queue, "-n", ns, "-o", "jsonpath={.metadata.annotations}"))
           for ns in facts.serving_namespaces),
         Command(sh("oc", "get", "pods", *scope, "-o", "custom-columns=NAME:.metadata.name,GATES:.spec.schedulingGates"))],
        "show"))
    active = facts.active[0].name if facts.active else facts.models[0].name
    blocks.append(Block(
        "Pods stuck in SchedulingGated after a change: a rolling update under a full quota (the new pod waits for "
        "the old pod's quota). The tree renders Recreate; check the Deployment carries it.",
        [Command(sh("oc", "get", "pods", "-n", facts.namespace_of(active), "-l", f"serving.kserve.io/inferenceservice={active}")),
         Command(sh("oc", "get", "deployment", predictor(active), "-n", facts.namespace_of(active), "-o",
                    "jsonpath={.spec.strategy.type}"), "Recreate")],
        "show"))
    blocks.append(Block(
        "Argo CD shows a model as Progressing although it serves, or the sync never ends: the InferenceService health "
        "check that deploy adds reads Ready (stopped models are Suspended); check the ArgoCD instance "
        f"{p.gitops.argocd_instance} carries it (deploy adds it again, keeping the instance's other checks).",
        [Command(sh("oc", "get", "argocd", p.gitops.argocd_instance, "-n", facts.argocd_namespace, "-o",
                    "jsonpath={.spec.resourceHealthChecks[*].kind}"), "InferenceService"),
         Command(sh("oc", "get", "application", *facts.serving_applications, "-n", facts.argocd_namespace, "-o",
                    "jsonpath={.status.operationState.phase}"), "Succeeded")], "show"))
    if facts.s3_models():
        connection = p.storage.s3.connection_secret
        blocks.append(Block(
            f"An S3 model's pod is rejected or its storage initializer fails: the Secret storage-config lacks the entry "
            f"{connection} (the connection Secret needs its labels and annotation, see prerequisites).",
            [cmd for ns in facts.s3_namespaces for cmd in (
                Command(sh("oc", "get", "secret", "storage-config", "-n", ns, "-o", "jsonpath={.data}")),
                Command(sh("oc", "get", "secret", connection, "-n", ns, "--show-labels")))], "show"))
    oci = facts.oci_models()
    if oci:
        blocks.append(Block(
            f"A ModelCar pod fails with \"no space left on device\": OCI images above {p.storage.oci_size_limit_gb:g} GB "
            "do not unpack in the CRI-O overlay. The generator refuses them (PF006); OCI models here: "
            + ", ".join(f"{m.name} ({m.size_gb:g} GB)" for m in oci) + ".",
            [Command(sh("oc", "get", "events", *scope, "--field-selector", "reason=Failed"))], "show"))
    args_models = [m for m in facts.models if m.vllm.tool_call_parser or m.weights.quantization_format != "none"]
    if args_models:
        blocks.append(Block(
            "vLLM exits at start-up, or tool calls silently fail: a wrong argument (a --chat-template name vLLM reads "
            "as a path, --quantization on compressed-tensors weights, tool calling with only one of its two flags, Granite "
            "without its tool chat template). `python -m generator validate` catches these before the sync "
            "(VLLM001-VLLM006); the log names the argument.",
            [Command(sh("oc", "logs", f"deployment/{predictor(m.name)}", "-n", facts.namespace_of(m.name), "--tail=50"))
             for m in args_models], "show"))
    if facts.uploads:
        blocks.append(Block(
            "An upload Job fails: read its log; a gated repository needs the token Secret, a full volume a larger "
            "uploadVolumeSize (the Job checks the free space before it downloads).",
            [*(Command(sh("oc", "logs", f"job/{facts.upload_job(u)}", "-n", u.namespace)) for u in facts.uploads),
             *(Command(sh("oc", "get", "pvc", *(u.name for u in facts.uploads_in(ns)), "-n", ns))
               for ns in facts.upload_namespaces)], "show"))
    jobs = [(u.namespace, facts.upload_job(u), facts.application_of(u.models[0])) for u in facts.uploads]
    jobs += [(ns, job, facts.application_of(models[0].name)) for ns, names, models in facts.registration_jobs for job in names]
    namespace, job, app = jobs[0]
    blocks.append(Block(
        "The sync stops before the models after a failed upload or registration Job, on every retry and every later "
        "commit (the models that need the weights must not start without them): its Application shows the operation "
        "failed at the Job's wave. A finished Job never runs again: once the cause is fixed (a Secret, a token, a "
        "volume), delete the failed Job and ask Argo CD to sync (it does not retry on its own a revision whose sync "
        f"failed); the sync creates the Job again, waits for it, then applies the models. For example {job}:",
        [Command(sh("oc", "get", "application", app, "-n", facts.argocd_namespace, "-o",
                    "jsonpath={.status.operationState.message}"),
                 "one or more synchronization tasks completed unsuccessfully (retried 5 times)."),
         Command(sh("oc", "delete", "job", job, "-n", namespace)),
         Command(sh("oc", "patch", "application", app, "-n", facts.argocd_namespace, "--type=merge", "-p",
                    json.dumps({"operation": {"initiatedBy": {"username": "runbook"}, "sync": {
                        "revision": p.gitops.target_revision, "prune": True, "syncOptions": facts.sync_options(app)}}})))], "show"))
    section.blocks = blocks
    return section


def cleanup(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    argo = facts.argocd_namespace
    section = Section("cleanup", "Cleanup",
                      "Delete the Applications first, so Argo CD does not re-create what you delete; deleting an "
                      "InferenceService removes its Deployment and pods (KServe owns them: never scale them by hand).")
    removal = [
        Command(sh("oc", "delete", "application", p.gitops.app_of_apps, "-n", argo, "--ignore-not-found")),
        Command(sh("oc", "delete", "application", *facts.applications, "-n", argo, "--ignore-not-found")),
        *(Command(sh("oc", "delete", "inferenceservice", *names, "-n", ns, "--ignore-not-found"))
          for ns, names in facts.by_namespace([m.name for m in facts.models]).items()),
        *(Command(sh("oc", "delete", "servingruntime", p.runtime.name, "-n", ns, "--ignore-not-found"))
          for ns in facts.serving_namespaces),
        *(Command(sh("oc", "delete", "job", *jobs, "-n", namespace, "--ignore-not-found"))
          for namespace, jobs, _ in facts.registration_jobs),
    ]
    uploads = facts.uploads
    for namespace in facts.upload_namespaces:
        mine = facts.uploads_in(namespace)
        removal.append(Command(sh("oc", "delete", "job", *(facts.upload_job(u) for u in mine), "-n", namespace,
                                  "--ignore-not-found")))
        removal.append(Command(sh("oc", "delete", "pvc", *(u.name for u in mine), "-n", namespace, "--ignore-not-found")))
    section.blocks.append(Block("Remove the Applications, the models, the runtime and the Jobs.", removal))
    if uploads:
        bucket = p.storage.s3.bucket
        service, svc_ns, port = facts.minio_service
        section.blocks.append(Block(
            f"Remove the uploaded weights from {bucket} (needs the aws CLI and MINIO_ACCESS_KEY / MINIO_SECRET_KEY). "
            "The port-forward runs in the background while the prefixes are deleted.",
            [Command(sh("oc", "port-forward", "-n", svc_ns, f"svc/{service}", f"{port}:{port}", QUIET, Raw("&"))),
             Command(sh(Raw("PORT_FORWARD_PID=$!"))),
             Command(sh("curl", "-s", "-o", "/dev/null", "--retry", 15, "--retry-connrefused", "--retry-delay", 1,
                        f"http://127.0.0.1:{port}/minio/health/live")),
             Command(sh("export", Raw('AWS_ACCESS_KEY_ID="${MINIO_ACCESS_KEY:?export MINIO_ACCESS_KEY}"'),
                        Raw('AWS_SECRET_ACCESS_KEY="${MINIO_SECRET_KEY:?export MINIO_SECRET_KEY}"'))),
             *(Command(sh("aws", "s3", "rm", f"s3://{bucket}/{u.prefix}/", "--recursive", "--endpoint-url",
                          f"http://127.0.0.1:{port}"), f"delete: s3://{bucket}/{u.prefix}/...") for u in uploads),
             Command(sh("kill", Raw('"$PORT_FORWARD_PID"')))]))
    section.blocks.append(Block(
        "The Kueue queues are shared with other steps and stay; remove them only when nothing else uses them.",
        [*(Command(sh("oc", "delete", "localqueue", p.kueue.local_queue, "-n", ns)) for ns, _ in facts.local_queues),
         Command(sh("oc", "delete", "clusterqueue", *dict.fromkeys(queue for _, queue in facts.local_queues))),
         Command(sh("oc", "delete", "resourceflavor", p.kueue.cpu_flavor.name, *(f.name for f in p.flavors)))], "show"))
    return section
