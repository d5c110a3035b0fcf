"""The Job scripts shipped with the package, read once so every Job mounts the same text."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def script(name: str) -> str:
    return resources.files("generator.scripts").joinpath(name).read_text(encoding="utf-8")
