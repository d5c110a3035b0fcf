"""`schema`: write (or check) schemas/portfolio.schema.json from the typed model."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator.console import EXIT_OK, EXIT_PROBLEMS, Outcome
from generator.errors import UsageError
from generator.model.schema import json_schema
from generator.output.files import failure, write_file

SCHEMA_PATH = Path("schemas/portfolio.schema.json")


def run(args: argparse.Namespace) -> Outcome:
    text = json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if not args.root.is_dir():
        raise UsageError(f"--root {args.root}: no such folder (the repository that holds {SCHEMA_PATH})")
    target = args.root / SCHEMA_PATH
    current = target.read_text(encoding="utf-8") if target.is_file() else None
    if current == text:
        return Outcome("schema", EXIT_OK, text=f"{SCHEMA_PATH} is up to date\n")
    if args.check:
        return Outcome("schema", EXIT_PROBLEMS, note=f"{SCHEMA_PATH} is stale; run `python -m generator schema`")
    if not args.root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    try:
        target.parent.mkdir(exist_ok=True)
    except OSError as error:
        raise failure(target.parent, error, unchanged="nothing was written") from error
    write_file(target, text)
    return Outcome("schema", EXIT_OK, text=f"wrote {SCHEMA_PATH}\n")
