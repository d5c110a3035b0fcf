"""The operating sections of the runbook, each built from `RunbookFacts` only."""

from __future__ import annotations

import json
import shlex
from decimal import Decimal

from generator.admission.plan import Cluster
from generator.admission.present import quota_lines
from generator.model.derive import flavor_node_labels
from generator.runbook.model import (
    Block,
    Command,
    RunbookFacts,
    Section,
    admission_lines,
    env_name,
    predictor,
    workloads_command,
)

MACHINE_API = "openshift-machine-api"
INSTANCE_TYPE_PATH = ".spec.template.spec.providerSpec.value.instanceType"


def _q(value: str) -> str:
    return shlex.quote(value)


def prerequisites(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    s3 = p.storage.s3
    gpu = p.cluster.gpu_resource
    section = Section("prerequisites", "Prerequisites",
                      "What the cluster must have before the tree is synced: the operators, the namespaces of "
                      "earlier steps, the GPU nodes of every flavor, and the Secrets the tree references.")
    section.blocks.append(Block(
        "OpenShift AI (KServe), Kueue and OpenShift GitOps are installed: their CRDs exist.",
        [Command("oc get crd inferenceservices.serving.kserve.io servingruntimes.serving.kserve.io "
                 "clusterqueues.kueue.x-k8s.io localqueues.kueue.x-k8s.io applications.argoproj.io",
                 "five CRDs listed, none NotFound")]))
    namespaces = facts.namespaces
    section.blocks.append(Block(
        "The namespaces exist (created by earlier steps; the tree does not create them).",
        [Command(f"oc get namespace {' '.join(namespaces)}", "\n".join(f"{n}   Active" for n in namespaces))]))
    for flavor in p.flavors:
        var = f"MACHINESET_{env_name(flavor.name)}"
        labels = ",".join(f"{k}={v}" if v else k for k, v in flavor_node_labels(flavor, p).items())
        section.blocks.append(Block(
            f"GPU nodes of flavor {flavor.name}: {flavor.nodes} x {flavor.instance_type} with {flavor.gpus_per_node} GPU(s) "
            f"each, labelled {labels} and tainted {p.cluster.gpu_taint.key}={p.cluster.gpu_taint.value}:"
            f"{p.cluster.gpu_taint.effect}. Scale its MachineSet and wait for the machines.",
            [
                Command(f"{var}=$(oc get machineset -n {MACHINE_API} -o "
                        f"jsonpath='{{.items[?(@{INSTANCE_TYPE_PATH}==\"{flavor.instance_type}\")].metadata.name}}')"),
                Command(f'oc scale machineset "${var}" -n {MACHINE_API} --replicas={flavor.nodes}'),
                Command(f"oc wait machineset/\"${var}\" -n {MACHINE_API} "
                        f"--for=jsonpath='{{.status.readyReplicas}}'={flavor.nodes} --timeout=30m"),
                Command(f"oc get nodes -l node.kubernetes.io/instance-type={flavor.instance_type}",
                        f"{flavor.nodes} node(s) Ready"),
            ]))
    total_gpus = sum(f.gpus_per_node * f.nodes for f in p.flavors)
    quota_gpus = sum(f.quota.gpus for f in p.flavors)
    section.blocks.append(Block(
        f"The GPU nodes offer what the quota promises: {total_gpus} allocatable GPUs for a nominal quota of {quota_gpus}.",
        [Command(f"oc get nodes -l {p.cluster.gpu_node_role_label} -o custom-columns="
                 f"NAME:.metadata.name,TYPE:.metadata.labels.node\\.kubernetes\\.io/instance-type,"
                 f"GPUS:.status.allocatable.{gpu.replace('.', chr(92) + '.')}",
                 "\n".join(f"<node>   {f.instance_type}   {f.gpus_per_node}" for f in p.flavors for _ in range(f.nodes)))]))
    hf = p.hugging_face
    minio_keys = ['--from-literal=AWS_ACCESS_KEY_ID="${MINIO_ACCESS_KEY:?export MINIO_ACCESS_KEY}"',
                  '--from-literal=AWS_SECRET_ACCESS_KEY="${MINIO_SECRET_KEY:?export MINIO_SECRET_KEY}"']
    secrets = [
        (s3.connection_secret, facts.namespace,
         "the OpenShift AI S3 data connection KServe reads (storage.key)",
         [*minio_keys,
          f"--from-literal=AWS_S3_ENDPOINT={s3.endpoint}", f"--from-literal=AWS_S3_BUCKET={s3.bucket}",
          "--from-literal=AWS_DEFAULT_REGION=us-east-1"]),
        (s3.credentials_secret, facts.upload_namespace, "the MinIO keys of the upload Jobs", minio_keys),
        (hf.token_secret, facts.upload_namespace, "the Hugging Face token of the upload Jobs (gated repositories)",
         [f'--from-literal={hf.token_key}="${{HF_TOKEN:?export HF_TOKEN}}"']),
    ]
    if facts.uploads:
        section.blocks.append(Block(
            "The weights need no manual upload: wave 1 of the tree runs one Job per distinct S3 source ("
            + "; ".join(f"{u.job_name} copies {u.hugging_face} to s3://{s3.bucket}/{u.prefix}/ for {' and '.join(u.models)}"
                        for u in facts.uploads)
            + "), before any model starts; the OCI ModelCars are pulled by the nodes."))
    # Only the Secrets this tree references: no S3 model, no data connection; no upload, no upload keys.
    secrets = [entry for entry in secrets
               if (entry[0] == s3.connection_secret and facts.s3_models()) or (entry[0] != s3.connection_secret and facts.uploads)]
    if not secrets:
        return section
    commands = []
    for name, namespace, _, literals in secrets:
        commands.append(Command(f"oc create secret generic {name} -n {namespace} {' '.join(literals)}",
                                unless=f"oc get secret {name} -n {namespace}"))
    if facts.s3_models():
        commands.append(Command(f"oc label secret {s3.connection_secret} -n {facts.namespace} "
                                "opendatahub.io/dashboard=true --overwrite"))
        commands.append(Command(f"oc annotate secret {s3.connection_secret} -n {facts.namespace} "
                                "opendatahub.io/connection-type=s3 --overwrite"))
    section.blocks.append(Block(
        "The Secrets the tree references; it never contains their values. Each is created only when missing, from "
        "values you export first (MINIO_ACCESS_KEY, MINIO_SECRET_KEY, HF_TOKEN). "
        + " ".join(f"{name} in {ns}: {why}." for name, ns, why, _ in secrets), commands))
    return section


def deploy(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    argo = facts.argocd_namespace
    deadline = p.jobs.active_deadline_seconds
    section = Section("deploy", "Deploy",
                      "One shot: apply the root Application once and let Argo CD sync every wave. Step by step: "
                      "validate, dry-run on the server, then follow each wave.")
    section.blocks.append(Block(
        "Check locally: the portfolio, the lint rules, the rendered documents and the scenarios.",
        [Command("python -m generator validate", "valid: ...")]))
    section.blocks.append(Block(
        "Dry-run the rendered tree against the API server (admission webhooks and CRD schemas included).",
        [Command(f"kubectl kustomize {facts.serving_tree} | oc apply --dry-run=server -f -", "every object: created (server dry run)"),
         Command(f"kubectl kustomize {facts.app_of_apps_dir} | oc apply --dry-run=server -f -")]))
    section.blocks.append(Block(
        f"Bootstrap: apply the root Application {p.gitops.app_of_apps}; it syncs {facts.app_of_apps_dir}, which holds "
        f"the Application {p.gitops.application}.",
        [Command(f"oc apply -k {facts.bootstrap_dir}"),
         Command(f"oc wait application/{p.gitops.app_of_apps} -n {argo} --for=jsonpath='{{.status.sync.status}}'=Synced "
                 "--timeout=10m"),
         Command(f"oc get application {p.gitops.application} -n {argo}", f"{p.gitops.application}   Synced")]))
    uploads = facts.uploads
    if uploads:
        section.blocks.append(Block(
            "Wave 1: the uploads copy each distinct set of S3 weights once; the InferenceServices wait for them.",
            [Command(f"oc wait --for=condition=complete job/{u.job_name} -n {facts.upload_namespace} --timeout={deadline}s",
                     f"job.batch/{u.job_name} condition met") for u in uploads]))
        section.blocks.append(Block(
            "Follow an upload while it runs.",
            [Command(f"oc logs -f job/{u.job_name} -n {facts.upload_namespace}",
                     f"s3://{p.storage.s3.bucket}/{u.prefix}/ complete: N files") for u in uploads], "show"))
    section.blocks.append(Block(
        "Waves 2 and 3: the runtime, then the models. The active models become Ready once Kueue admits their pods.",
        [Command(f"oc get servingruntime {p.runtime.name} -n {facts.namespace}", p.runtime.name),
         *(Command(f"oc wait --for=condition=Ready inferenceservice/{m.name} -n {facts.namespace} --timeout=45m",
                   f"inferenceservice.serving.kserve.io/{m.name} condition met") for m in facts.active)]))
    section.blocks.append(Block(
        "Wave 4: every model is registered in the Model Registry with its real storage URI.",
        [Command(f"oc wait --for=condition=complete job/{facts.registration_job} -n {facts.registry_namespace} --timeout=15m"),
         Command(f"oc logs job/{facts.registration_job} -n {facts.registry_namespace}",
                 "\n".join(f"{m.name}: registered model ... created (or: already registered)" for m in facts.models))]))
    section.blocks.append(Block(
        "The Application is synced and healthy.",
        [Command(f"oc wait application/{p.gitops.application} -n {argo} "
                 "--for=jsonpath='{.status.health.status}'=Healthy --timeout=30m")]))
    return section


def verify(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    ns = facts.namespace
    baseline = facts.baseline
    section = Section("verify", "Verify", "The baseline as the simulator predicts it: what each command should show.")
    section.blocks.append(Block("The InferenceServices and their predictor Deployments.", [
        Command(f"oc get inferenceservice -n {ns}", "\n".join(
            f"{m.name}   {'READY True' if m.state == 'active' else 'no pod (minReplicas 0)'}" for m in facts.models)),
        Command(f"oc get deployment {' '.join(predictor(m.name) for m in facts.models)} -n {ns}", "\n".join(
            f"{predictor(m.name)}   {'1/1' if m.state == 'active' else '0/0'}" for m in facts.models)),
    ]))
    gpu_used = sum((q.used for q in baseline.quota if q.resource == p.cluster.gpu_resource), Decimal(0))
    gpu_nominal = sum((q.nominal for q in baseline.quota if q.resource == p.cluster.gpu_resource), Decimal(0))
    section.blocks.append(Block(
        f"Kueue admitted the baseline: {gpu_used:f} of {gpu_nominal:f} GPUs in use.", [
            Command(workloads_command(ns, facts.gpu), admission_lines(baseline, [m.name for m in facts.active])),
            Command(f"oc get localqueue {p.kueue.local_queue} -n {ns}", f"{p.kueue.local_queue}   {p.kueue.cluster_queue}"),
            Command(f"oc get clusterqueue {p.kueue.cluster_queue} -o jsonpath='{{.status.flavorsUsage}}'",
                    "\n".join(quota_lines(baseline.quota))),
        ]))
    return section


def smoke_test(facts: RunbookFacts) -> Section:
    ns = facts.namespace
    section = Section("smoke-test", "Smoke test",
                      f"Each model serves the OpenAI-compatible API at its URL (https://<model>-{ns}.<apps domain>, "
                      "exposed by the networking.kserve.io/visibility label); the served model name is the model name. "
                      "Queued models answer once enabled (oc scale deployment <model>-predictor --replicas=1).")
    for model in facts.models:
        var = f"{env_name(model.name)}_URL"
        chat = {"model": model.name, "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
                "max_tokens": 64}
        commands = [
            Command(f"{var}=$(oc get inferenceservice {model.name} -n {ns} -o jsonpath='{{.status.url}}')"),
            Command(f'curl -sSk --fail --max-time 60 "${var}/v1/models"', f'{{"object":"list","data":[{{"id":"{model.name}", ...}}]}}'),
            Command(f'curl -sSk --fail --max-time 120 "${var}/v1/chat/completions" -H {_q("Content-Type: application/json")} '
                    f"-d {_q(json.dumps(chat))}", '{"object":"chat.completion", "choices":[{"message":{"content":"Hello..."}}]}'),
        ]
        if model.vllm.tool_call_parser:
            tools = {**chat, "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
                     "tools": [{"type": "function", "function": {
                         "name": "get_weather", "description": "Current weather of a city",
                         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
                     "tool_choice": "auto"}
            commands.append(Command(
                f'curl -sSk --fail --max-time 120 "${var}/v1/chat/completions" -H {_q("Content-Type: application/json")} '
                f"-d {_q(json.dumps(tools))}",
                f'"tool_calls":[{{"function":{{"name":"get_weather","arguments":"{{\\"city\\": \\"Paris\\"}}"}}}}] '
                f"(parser {model.vllm.tool_call_parser})"))
        state = "active: runs in the one-shot script" if model.state == "active" else "queued: enable it first"
        section.blocks.append(Block(f"{model.display_name} ({model.name}, {state}).", commands,
                                    "run" if model.state == "active" else "show"))
    return section


def troubleshoot(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    ns = facts.namespace
    queued = [m for m in facts.models if m.state == "queued"]
    section = Section("troubleshoot", "Troubleshoot", "Symptoms seen on this demo, how to confirm them, and the fix.")
    blocks = []
    example = queued[0].name if queued else facts.models[0].name
    simulated = Cluster(p, facts.tree).apply(enable=[example]).model(example)
    blocks.append(Block(
        "A model stays pending: Kueue has no quota for it. Compare with the simulation; free quota by scaling "
        "another model down.",
        [Command(workloads_command(ns, facts.gpu)),
         Command(f"oc describe clusterqueue {p.kueue.cluster_queue}"),
         Command(f"python -m generator plan --enable {example}",
                 f"{example}  {simulated.gpus}  {simulated.state}  {simulated.flavor or '-'}  {simulated.reason}".rstrip())],
        "show"))
    active = facts.active[0].name if facts.active else facts.models[0].name
    blocks.append(Block(
        "Pods stuck in SchedulingGated after a change: a rolling update under a full quota (the new pod waits for "
        "the old pod's quota). The tree renders Recreate; check the Deployment carries it.",
        [Command(f"oc get pods -n {ns} -l serving.kserve.io/inferenceservice={active}"),
         Command(f"oc get deployment {predictor(active)} -n {ns} -o jsonpath='{{.spec.strategy.type}}'", "Recreate")], "show"))
    oci = facts.oci_models()
    if oci:
        blocks.append(Block(
            f"A ModelCar pod fails with \"no space left on device\": OCI images above {p.storage.oci_size_limit_gb:g} GB "
            "do not unpack in the CRI-O overlay. The generator refuses them (PF006); OCI models here: "
            + ", ".join(f"{m.name} ({m.size_gb:g} GB)" for m in oci) + ".",
            [Command(f"oc get events -n {ns} --field-selector reason=Failed")], "show"))
    args_models = [m for m in facts.models if m.vllm.tool_call_parser or m.weights.quantization_format != "none"]
    if args_models:
        blocks.append(Block(
            "vLLM exits at start-up: a wrong argument (a --chat-template name vLLM reads as a path, --quantization on "
            "compressed-tensors weights, tool calling with only one of its two flags). `python -m generator validate` "
            "catches these before the sync (VLLM001-VLLM005); the log names the argument.",
            [Command(f"oc logs deployment/{predictor(m.name)} -n {ns} --tail=50") for m in args_models], "show"))
    if facts.uploads:
        blocks.append(Block(
            "An upload Job fails: read its log; a gated repository needs the token Secret, a full volume a larger "
            "uploadVolumeSize.",
            [*(Command(f"oc logs job/{u.job_name} -n {facts.upload_namespace}") for u in facts.uploads),
             Command(f"oc get pvc {' '.join(u.job_name for u in facts.uploads)} -n {facts.upload_namespace}")], "show"))
    section.blocks = blocks
    return section


def cleanup(facts: RunbookFacts) -> Section:
    p = facts.portfolio
    ns = facts.namespace
    argo = facts.argocd_namespace
    section = Section("cleanup", "Cleanup",
                      "InferenceService has no scale subresource: scale the predictor Deployments (or set the models to "
                      "queued in portfolio.yaml and rebuild). To remove the step, delete the Applications first so "
                      "Argo CD does not re-create what you delete.")
    section.blocks.append(Block("Scale every model to zero.", [
        Command(f"oc scale deployment {predictor(m.name)} -n {ns} --replicas=0") for m in facts.models]))
    uploads = facts.uploads
    service, svc_ns, port = facts.minio_service
    removal = [
        Command(f"oc delete application {p.gitops.app_of_apps} -n {argo} --ignore-not-found"),
        Command(f"oc delete application {p.gitops.application} -n {argo} --ignore-not-found"),
        Command(f"oc delete inferenceservice {' '.join(m.name for m in facts.models)} -n {ns} --ignore-not-found"),
        Command(f"oc delete servingruntime {p.runtime.name} -n {ns} --ignore-not-found"),
        Command(f"oc delete job {facts.registration_job} -n {facts.registry_namespace} --ignore-not-found"),
    ]
    if uploads:
        names = " ".join(u.job_name for u in uploads)
        removal.append(Command(f"oc delete job {names} -n {facts.upload_namespace} --ignore-not-found"))
        removal.append(Command(f"oc delete pvc {names} -n {facts.upload_namespace} --ignore-not-found"))
    section.blocks.append(Block("Remove the Applications, the models, the runtime and the Jobs.", removal))
    if uploads:
        bucket = p.storage.s3.bucket
        section.blocks.append(Block(
            f"Remove the uploaded weights from {bucket} (needs the aws CLI and MINIO_ACCESS_KEY / MINIO_SECRET_KEY). "
            "The port-forward runs in the background while the prefixes are deleted.",
            [Command(f"oc port-forward -n {svc_ns} svc/{service} {port}:{port} >/dev/null &"),
             Command("PORT_FORWARD_PID=$!"),
             Command(f"curl -s -o /dev/null --retry 15 --retry-connrefused --retry-delay 1 http://127.0.0.1:{port}/minio/health/live"),
             Command('export AWS_ACCESS_KEY_ID="${MINIO_ACCESS_KEY:?export MINIO_ACCESS_KEY}" '
                     'AWS_SECRET_ACCESS_KEY="${MINIO_SECRET_KEY:?export MINIO_SECRET_KEY}"'),
             *(Command(f"aws s3 rm s3://{bucket}/{u.prefix}/ --recursive --endpoint-url http://127.0.0.1:{port}",
                       f"delete: s3://{bucket}/{u.prefix}/...") for u in uploads),
             Command('kill "$PORT_FORWARD_PID"')]))
    section.blocks.append(Block(
        "The Kueue queues are shared with other steps and stay; remove them only when nothing else uses them.",
        [Command(f"oc delete localqueue {p.kueue.local_queue} -n {ns}"),
         Command(f"oc delete clusterqueue {p.kueue.cluster_queue}"),
         Command(f"oc delete resourceflavor {' '.join(f.name for f in p.flavors)}")], "show"))
    return section
