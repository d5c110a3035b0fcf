"""Validation of rendered documents: core kinds against the Kubernetes OpenAPI, custom resources
against CRD schemas read from --crd-dir."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import kubernetes_validate

from generator.diagnostics import Diagnostic, format_path
from generator.tree import Tree

KUBERNETES_VERSION = "1.33.0"  # OpenShift 4.20


@dataclass
class ValidationReport:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    core_checked: int = 0
    custom_checked: int = 0
    skipped: list[str] = field(default_factory=list)


def is_kustomization(document: dict[str, Any]) -> bool:
    return document.get("kind") == "Kustomization" and str(document.get("apiVersion", "")).startswith("kustomize.config.k8s.io/")


def document_label(document: dict[str, Any]) -> str:
    meta = document.get("metadata") or {}
    namespace = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{document.get('kind')}/{namespace}{meta.get('name')}"


def validate_core(document: dict[str, Any]) -> tuple[bool, tuple[tuple[str | int, ...], str] | None]:
    """(is a core kind, first problem as (path, message) or None)."""
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return False, None
    except kubernetes_validate.ValidationError as error:
        return True, (tuple(error.path), str(error.message))
    return True, None


def validate_tree_core(tree: Tree, report: ValidationReport | None = None) -> ValidationReport:
    report = report or ValidationReport()
    for path, documents in tree.items():
        for index, document in enumerate(documents):
            if is_kustomization(document):
                continue
            core, problem = validate_core(document)
            if not core:
                continue
            report.core_checked += 1
            if problem:
                where, message = problem
                report.diagnostics.append(Diagnostic(
                    file=path, line=0, column=0, rule="K8S001",
                    path=f"{document_label(document)}#{index}:{format_path(where)}",
                    message=f"{message} (Kubernetes {KUBERNETES_VERSION[:-2]} OpenAPI)",
                ))
    return report
