"""placeholder"""

from typing import Any

CASES: list[Any] = []
