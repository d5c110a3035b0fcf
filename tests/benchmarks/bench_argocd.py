"""How long Argo CD's repo-server would take to render each Application's path (run by hand):

    .venv/bin/python tests/benchmarks/bench_argocd.py curve                   # kustomize time against resource count
    .venv/bin/python tests/benchmarks/bench_argocd.py apps --sizes 1000,5000  # every Application of 20-team portfolios

The repo-server runs `kustomize build` on an Application's path on every refresh and gives up after
ARGOCD_EXEC_TIMEOUT (90 s by default); kustomize's time grows faster than linearly with the resources of the path.
`kubectl kustomize` stands in for it here.

`curve` renders one team with more and more models (`make_portfolio.scale`: clones of the Granite model, each with
weights of its own: an InferenceService, an upload PVC and Job per model, the heaviest documents the tree has) and
times `kubectl kustomize` on that team's models path, the Application path that grows fastest. `apps` builds
portfolios of --sizes models over --teams teams and times `kubectl kustomize` on the path of every Application the
app-of-apps lists. Each timing is the minimum of --runs runs (the machine is shared: the minimum is the least
disturbed), wall time and the CPU time of the kustomize process; the 1-minute load average is printed with it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_portfolio import dump, scale  # noqa: E402

PYTHON = [sys.executable, "-m", "generator"]


def kustomize(kubectl: str, path: Path, runs: int) -> tuple[float, float, int]:
    """(minimum wall seconds, minimum CPU seconds, resources) of `kubectl kustomize path` over `runs` runs."""
    best_wall = best_cpu = float("inf")
    count = 0
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        out = subprocess.run([kubectl, "kustomize", str(path)], capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
        count = sum(1 for doc in yaml.safe_load_all(out) if doc)
    return best_wall, best_cpu, count


def build(models: int, teams: int) -> Path:
    work = Path(tempfile.mkdtemp(prefix=f"gpuaas-bench-argocd-{models}-"))
    (work / "portfolio.yaml").write_text(dump(scale(models, teams)), encoding="utf-8")
    started = time.perf_counter()
    result = subprocess.run([*PYTHON, "build"], cwd=work, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{models} models: build failed:\n{result.stderr}")
    print(f"  {models} models over {teams} teams built in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return work


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def curve(args: argparse.Namespace) -> None:
    print("| models | resources | wall (min) | CPU (min) | load |")
    print("|---|---|---|---|---|")
    for models in (int(m) for m in args.models.split(",")):
        work = build(models, 1)
        path = work / "gitops/step-05-llm-on-vllm/base/teams/team-01/serving"
        wall, cpu, count = kustomize(args.kubectl, path, args.runs)
        print(f"| {models:,} | {count:,} | {wall:.2f} s | {cpu:.2f} s | {load()} |", flush=True)
        shutil.rmtree(work)


def applications(work: Path) -> list[tuple[str, str]]:
    apps = []
    for file in sorted((work / "gitops/argocd/app-of-apps").glob("*.yaml")):
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            if doc and doc.get("kind") == "Application":
                apps.append((doc["metadata"]["name"], doc["spec"]["source"]["path"]))
    return apps


def apps(args: argparse.Namespace) -> None:
    print("| models | Applications | resources (largest path) | slowest Application | wall (min) | CPU (min) | "
          "all paths, wall | load |")
    print("|---|---|---|---|---|---|---|---|")
    for models in (int(m) for m in args.sizes.split(",")):
        work = build(models, args.teams)
        found = [(name, *kustomize(args.kubectl, work / path, args.runs)) for name, path in applications(work)]
        name, wall, cpu, _ = max(found, key=lambda row: row[1])
        largest = max(row[3] for row in found)
        total = sum(row[1] for row in found)
        print(f"| {models:,} | {len(found)} | {largest:,} | {name} | {wall:.2f} s | {cpu:.2f} s | {total:.1f} s | {load()} |",
              flush=True)
        shutil.rmtree(work)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["curve", "apps"])
    parser.add_argument("--models", default="50,100,150,200,250,300,400", help="curve: the team's models")
    parser.add_argument("--sizes", default="1000,5000", help="apps: the portfolios' models")
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kubectl", default=shutil.which("kubectl") or "kubectl")
    args = parser.parse_args(argv)
    curve(args) if args.what == "curve" else apps(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
