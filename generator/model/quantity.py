"""Kubernetes resource quantities: parsing for arithmetic, one canonical spelling for output."""

from __future__ import annotations

import re
from decimal import Decimal

_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)


def canonical_quantity(value: object) -> str:
    """Return the quantity as the string written to manifests; raise ValueError if it is not one."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("must be a Kubernetes quantity such as 16, 500m or 64Gi")
    text = str(value).strip()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if not _QUANTITY.match(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity (examples: 16, 500m, 64Gi)")
    amount = parse_quantity(text)
    if amount <= 0:
        raise ValueError(f"{text!r} must be greater than zero")
    if amount > 2**63 - 1:  # what a Kubernetes quantity holds
        raise ValueError(f"{text!r} is larger than a Kubernetes quantity can be")
    return text


def parse_quantity(text: str) -> Decimal:
    match = _QUANTITY.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    suffix = match.group(2) or ""
    number = text[: len(text) - len(suffix)] if suffix else text
    return Decimal(number) * _SUFFIX[suffix]


def format_quantity(amount: Decimal, *, like: str) -> str:
    """Format an amount in the unit family of `like` (Gi for memory, plain or m for cpu)."""
    if like.endswith("Gi"):
        for unit in ("Gi", "Mi", "Ki"):  # the largest binary unit that holds the amount exactly
            value = amount / _SUFFIX[unit]
            if value == value.to_integral_value():
                return f"{int(value)}{unit}"
        return str(int(amount.to_integral_value()))
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{int(amount * 1000)}m"
