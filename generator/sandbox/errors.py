"""The sandbox's errors: a component that failed (exit 1), a tool the box needs that is missing (exit 2)."""

from __future__ import annotations

from generator.errors import GeneratorError, UsageError


class SandboxError(GeneratorError):
    """A component of the box failed to build, start or become ready; the message names it and quotes its log."""


class ToolMissing(SandboxError, UsageError):
    """A tool the box is built or driven with (Go, kubectl) is not installed: a set-up error, exit 2."""
