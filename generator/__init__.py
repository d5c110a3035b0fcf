"""GitOps generator for GPU-as-a-Service model portfolios on OpenShift AI."""

from __future__ import annotations

__version__ = "0.1.0"
