"""Argo CD's own repo-server rendering every Application of a large portfolio (run by hand, one box):

    .venv/bin/python tests/benchmarks/bench_argocd_box.py --models 1000 --teams 20

A box (the control plane, Kueue, KServe, Argo CD v3.1.9's repo-server and application controller, the Git
server) is started; a `make_portfolio.scale` portfolio of --models models over --teams teams is rendered with its
`gitops.repoURL` pointed at the box's Git server, committed there and bootstrapped (`kubectl apply -k
gitops/argocd/bootstrap`). The root Application creates every Application of the app-of-apps. With the default
`--compare`, the child Applications are published without automated sync: the repo-server renders each path and
the controller compares it with the cluster, which is what every refresh costs; nothing is applied. With `--sync`
they keep the tree's automated sync and the benchmark waits for every one to be Synced (heavy: every upload Job,
registration Job and InferenceService of the portfolio is created).

It prints, for every Application, whether it compared (or synced) at the commit, and from the repo-server's log
(its `exec kustomize` traces, ARGOCD_EXEC_TIMEOUT at its 90 s default) the slowest render, the count of renders and
their total; the box is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from make_portfolio import dump, scale  # noqa: E402

from generator.output.tree import write_tree  # noqa: E402
from generator.pipeline import prepare  # noqa: E402
from generator.render import render  # noqa: E402
from generator.render.common import Tree  # noqa: E402
from generator.sandbox.argocd import repository_secret  # noqa: E402
from generator.sandbox.box import Box  # noqa: E402
from generator.sandbox.build import ensure_built  # noqa: E402
from generator.sandbox.stack import stack  # noqa: E402

CRDS = Path(os.environ.get("CRD_DIR") or ROOT.parent / "shared" / "crds")
REPOSITORY = "portfolio"
ARGO = "/apis/argoproj.io/v1alpha1"
TRACE = re.compile(r'args="\[kustomize build (?P<path>[^\]]+)\]".*operation_name="exec kustomize" time_ms=(?P<ms>[0-9.]+)')


def _without_automated_sync(tree: Tree) -> None:
    """The app-of-apps' Applications compare only: a refresh renders their path, nothing is applied."""
    for path, documents in tree.items():
        if "/app-of-apps/" in path:
            for document in documents:
                if document.get("kind") == "Application":
                    document["spec"]["syncPolicy"].pop("automated", None)


def _applications(box: Box, namespace: str) -> dict[str, dict[str, Any]]:
    status, body = box.request("GET", f"{ARGO}/namespaces/{namespace}/applications")
    assert status == 200, body
    return {a["metadata"]["name"]: a for a in body["items"]}


def _done(app: dict[str, Any], commit: str, sync: bool) -> str | None:
    """'ok', an error, or None while the Application has not yet compared (synced) at `commit`."""
    status = app.get("status") or {}
    errors = [c["message"] for c in status.get("conditions") or [] if c["type"].endswith("Error")]
    if errors:
        return "; ".join(errors)
    state = status.get("sync") or {}
    if state.get("revision") != commit or state.get("status") not in (("Synced",) if sync else ("Synced", "OutOfSync")):
        return None
    return "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--sync", action="store_true", help="keep automated sync and wait for every Application Synced")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix=f"gpuaas-bench-argocd-box-{args.models}-"))
    (work / "portfolio.yaml").write_text(dump(scale(args.models, args.teams)), encoding="utf-8")
    base = prepare(work / "portfolio.yaml", display_name="portfolio.yaml").portfolio
    box = Box(work / "box", bin_dir=ensure_built())
    parts = stack(base, render(base), [CRDS], argocd=True)
    assert parts.git is not None
    started = time.monotonic()
    box.start(parts.components)
    print(f"box started in {time.monotonic() - started:.0f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    try:
        url = parts.git.url(box, REPOSITORY)
        text = (work / "portfolio.yaml").read_text(encoding="utf-8").replace(str(base.gitops.repo_url), url)
        repository = work / "repository"
        repository.mkdir()
        (repository / "portfolio.yaml").write_text(text, encoding="utf-8")
        portfolio = prepare(repository / "portfolio.yaml", display_name="portfolio.yaml").portfolio
        tree = render(portfolio)
        if not args.sync:
            _without_automated_sync(tree)
        write_tree(tree, repository)
        commit = parts.git.publish(box, REPOSITORY, repository, branch=portfolio.gitops.target_revision)
        namespace = portfolio.gitops.argocd_namespace
        box.kubectl("apply", "--server-side", "-f", "-", input=yaml.safe_dump(repository_secret(namespace, REPOSITORY, url)))
        children = [d["metadata"]["name"] for p, docs in tree.items() if "/app-of-apps/" in p for d in docs
                    if d.get("kind") == "Application"]
        started = time.monotonic()
        box.kubectl("apply", "-k", str(repository / "gitops/argocd/bootstrap"))
        done: dict[str, str] = {}
        while len(done) < len(children) and time.monotonic() - started < args.timeout:
            time.sleep(5)
            live = _applications(box, namespace)
            for name in children:
                answer = _done(live.get(name) or {}, commit, args.sync)
                if answer is not None and name not in done:
                    done[name] = answer
                    print(f"{time.monotonic() - started:6.0f} s  {name}: {answer}", flush=True)
        what = "synced" if args.sync else "compared"
        failed = {n: a for n, a in done.items() if a != "ok"}
        print(f"{len(done) - len(failed)} of {len(children)} Applications {what} at {commit[:12]} in "
              f"{time.monotonic() - started:.0f} s; errors: {failed or 'none'}; missing: "
              f"{sorted(set(children) - set(done)) or 'none'}")
        live = _applications(box, namespace)
        for name in sorted(set(children) - {n for n, a in done.items() if a == "ok"}):
            status = (live.get(name) or {}).get("status") or {}
            drift = [f"{r.get('kind')}/{r.get('namespace', '')}/{r.get('name')}: {r.get('status')}"
                     for r in status.get("resources") or [] if r.get("status") != "Synced"]
            operation = status.get("operationState") or {}
            print(f"{name}: sync {(status.get('sync') or {}).get('status')}, health "
                  f"{(status.get('health') or {}).get('status')}, operation {operation.get('phase')} "
                  f"({operation.get('message', '')}); not Synced: {drift or 'none'}")
        renders = [(float(m["ms"]) / 1000, m["path"]) for line in box.log_path("argocd-repo-server").read_text().splitlines()
                   if (m := TRACE.search(line))]
        if renders:
            seconds, path = max(renders)
            print(f"repo-server: {len(renders)} kustomize renders, slowest {seconds:.2f} s ({path.split('/gitops/')[-1]}), "
                  f"total {sum(s for s, _ in renders):.1f} s; load {os.getloadavg()[0]:.1f}")
        else:
            print("repo-server: no kustomize trace in its log")
        return 0 if not failed and len(done) == len(children) else 1
    finally:
        box.stop()


if __name__ == "__main__":
    raise SystemExit(main())
