"""Build a scale portfolio and measure every emitted object against the API server's limits (run by hand):

    .venv/bin/python tests/benchmarks/check_limits.py --models 5000

It runs `build` into a temporary root (the whole pipeline: rules, render, validation, tree lints with K8S002-K8S005),
then reads every written document back and prints the largest object, data and annotations as Argo CD applies them
(client-side, with the last-applied copy), and the registration shards. Exit 1 when any object is over a limit.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_portfolio import dump, scale  # noqa: E402

from generator.cli import main as generator  # noqa: E402
from generator.render.limits import (  # noqa: E402
    ANNOTATIONS_BYTES,
    DATA_BYTES,
    REQUEST_BYTES,
    annotations_bytes,
    data_bytes,
    object_bytes,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, default=5000)
    parser.add_argument("--teams", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "portfolio.yaml").write_text(dump(scale(args.models, args.teams)), encoding="utf-8")
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # the list of written files
            code = generator(["build", "--root", str(root)])
        print(f"build: exit {code} in {time.perf_counter() - started:.1f} s")
        if code != 0:
            return 1
        largest = {"object": (0, ""), "data": (0, ""), "annotations": (0, "")}
        documents = shards = over = 0
        for path in sorted((root / "gitops").rglob("*.yaml")):
            for doc in yaml.load_all(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader):
                if doc.get("kind") == "Kustomization":
                    continue
                documents += 1
                shards += "models.json" in (doc.get("data") or {})
                where = f"{doc['kind']}/{doc['metadata']['name']}"
                sizes = {"object": object_bytes(doc), "data": data_bytes(doc), "annotations": annotations_bytes(doc)}
                for what, size in sizes.items():
                    largest[what] = max(largest[what], (size, where))
                over += (sizes["object"] > REQUEST_BYTES or sizes["data"] > DATA_BYTES
                         or sizes["annotations"] > ANNOTATIONS_BYTES)
    limits = {"object": REQUEST_BYTES, "data": DATA_BYTES, "annotations": ANNOTATIONS_BYTES}
    print(f"{documents} objects, {shards} registration shards, {over} over a limit")
    for what, (size, where) in largest.items():
        print(f"largest {what}: {size:,} bytes of {limits[what]:,} ({where})")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
