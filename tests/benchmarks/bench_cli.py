"""Whole-process benchmark of the commands against `kubectl kustomize` on their output (run by hand):

    .venv/bin/python tests/benchmarks/bench_cli.py                      # bundled, 10, 100, 1,000, 5,000 models
    .venv/bin/python tests/benchmarks/bench_cli.py --sizes bundled,100 --runs 5

For each size it writes a portfolio (`make_portfolio.scale`: clones of the Granite model with weights of their
own, over 20 teams; "bundled" is the demo portfolio), then times `build` (into an empty gitops/), `build --check`,
`validate --crd-dir`, `plan`, `diff` (after doubling one team's quota, against the tree before) and
`kubectl kustomize` on the path of every Application the app-of-apps lists, one after another (what Argo CD's
repo-server renders on a refresh; `bench_argocd.py` times each path). Each is a fresh process; the median of --runs runs is printed (a command
slower than --repeat-below seconds runs once), with the largest peak resident memory of any of them. The CRD cache
is warmed first, so `validate` reads converted CRDs as every run after a user's first does. Prints a Markdown
table and the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_portfolio import DEMO, dump, scale  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PYTHON = [sys.executable, "-m", "generator"]
COMMANDS = ("build", "build --check", "validate", "plan", "diff", "kustomize")


def run(argv: Sequence[str], cwd: Path, timeout: float | None = None) -> tuple[float, int, int]:
    """(wall seconds, peak resident KiB, exit status) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = None if timeout is None else started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return time.perf_counter() - started, usage.ru_maxrss, process.returncode
        if deadline is not None and time.perf_counter() > deadline:
            process.kill()
            process.wait()
            return float("inf"), 0, -9
        time.sleep(0.005)


def portfolio_text(size: str, teams: int) -> str:
    return DEMO.read_text(encoding="utf-8") if size == "bundled" else dump(scale(int(size), teams))


def doubled_quota(text: str) -> str:
    """The portfolio after a reviewable change: the first team's 4-GPU quota doubled (and the flavor's with it)."""
    data = yaml.safe_load(text)
    if data.get("teams"):
        data["teams"][0]["quota"][-1]["gpus"] *= 2
        data["flavors"][-1]["quota"]["gpus"] += data["teams"][0]["quota"][-1]["gpus"] // 2
    else:
        data["flavors"][-1]["quota"]["gpus"] *= 2
        data["flavors"][-1]["nodes"] *= 2
    return dump(data)


def measure(size: str, args: argparse.Namespace) -> dict[str, tuple[float, int]]:
    work = Path(tempfile.mkdtemp(prefix=f"gpuaas-bench-{size}-"))
    before, after = work / "before", work / "after"
    before.mkdir()
    after.mkdir()
    text = portfolio_text(size, args.teams)
    (before / "portfolio.yaml").write_text(text, encoding="utf-8")
    (after / "portfolio.yaml").write_text(doubled_quota(text), encoding="utf-8")
    crd = ["--crd-dir", str(args.crd_dir)]
    if run([*PYTHON, "build"], before)[2] != 0 or run([*PYTHON, "validate", *crd], before)[2] != 0:
        raise SystemExit(f"{size}: the portfolio does not build and validate; see {before}")
    paths = application_paths(before)
    argv = {
        "build": [*PYTHON, "build"],
        "build --check": [*PYTHON, "build", "--check"],
        "validate": [*PYTHON, "validate", *crd],
        "plan": [*PYTHON, "plan"],
        "diff": [*PYTHON, "diff", "--against", str(before)],
    }
    results = {}
    for command in COMMANDS:
        times, peaks = [], []
        for _ in range(args.runs):
            if command == "build":
                shutil.rmtree(before / "gitops")
            cwd = after if command == "diff" else before
            if command == "kustomize":  # every Application's path, as the repo-server renders them on a refresh
                each = [run([args.kubectl, "kustomize", str(before / path)], cwd, args.kustomize_timeout) for path in paths]
                took, peak = sum(t for t, _, _ in each), max(p for _, p, _ in each)
            else:
                took, peak, _ = run(argv[command], cwd)
            times.append(took)
            peaks.append(peak)
            if took > args.repeat_below:
                break
        results[command] = (statistics.median(times), max(peaks))
        print(f"  {size:>7} {command:<14} {seconds(results[command][0]):>10}  {max(peaks) / 1024:7.0f} MiB  ({len(times)} runs)",
              file=sys.stderr)
    shutil.rmtree(work)
    return results


def application_paths(root: Path) -> list[str]:
    """The source path of every Application the app-of-apps lists."""
    return [doc["spec"]["source"]["path"] for file in sorted((root / "gitops/argocd/app-of-apps").glob("*.yaml"))
            for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")) if doc and doc.get("kind") == "Application"]


def machine(kubectl: str) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    client = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True).stdout.splitlines()
    return (f"{os.cpu_count()} CPUs ({cpu}), {memory // 1024} GiB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {client[0] if client else 'kubectl'}")


def ratio(results: dict[str, tuple[float, int]], command: str) -> str:
    kustomize = results["kustomize"][0]
    return f"{results[command][0] / kustomize:.2f}" if kustomize not in (0, float("inf")) else "-"


def seconds(value: float) -> str:
    return "timed out" if value == float("inf") else f"{value:.2f} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="bundled,10,100,1000,5000")
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat-below", type=float, default=60.0, help="run once a command slower than this")
    parser.add_argument("--kustomize-timeout", type=float, default=900.0)
    parser.add_argument("--crd-dir", type=Path, default=ROOT.parent / "shared" / "crds")
    parser.add_argument("--kubectl", default=shutil.which("kubectl") or "kubectl")
    args = parser.parse_args(argv)
    rows = []
    for size in args.sizes.split(","):
        results = measure(size, args)
        peak = max(p for command, (_, p) in results.items() if command != "kustomize") / 1024
        label = "5 (bundled)" if size == "bundled" else f"{int(size):,}"
        rows.append(f"| {label} | " + " | ".join(seconds(results[c][0]) for c in COMMANDS)
                    + f" | {ratio(results, 'build')} | {ratio(results, 'build --check')} | {ratio(results, 'validate')} "
                    f"| {peak:.0f} MiB |")
    print("| models | `build` | `build --check` | `validate` (CRDs) | `plan` | `diff` | `kubectl kustomize` | "
          "build / kustomize | check / kustomize | validate / kustomize | peak memory |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"\nMachine: {machine(args.kubectl)}; medians of up to {args.runs} runs; {args.teams} teams.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
