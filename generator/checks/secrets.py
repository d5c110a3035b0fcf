"""Nothing secret is committed: every string the tree holds is searched for the shapes credentials have.

The search runs over the rendered tree, so it sees every place a portfolio value lands (an argument, an annotation,
the registration's JSON, a URL); each finding is reported at the portfolio field the string came from. A value
written as a Kubernetes reference, `$(VAR)`, is not a secret: the kubelet expands it from the container's env,
which reads it from a Secret (`models[].secretEnv`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from generator.diagnostics import FieldPath, Problem
from generator.model.portfolio import Portfolio
from generator.render.common import Tree

_REFERENCE = r"\$\([A-Za-z_][A-Za-z0-9_]*\)"  # $(VAR): expanded by the kubelet from the container's env


@dataclass(frozen=True)
class Shape:
    name: str
    pattern: re.Pattern[str]


SHAPES = (
    Shape("a Hugging Face token (hf_...)", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    Shape("a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_...)", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    Shape("a GitHub fine-grained token (github_pat_...)", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{30,}")),
    Shape("an AWS access key id (AKIA/ASIA...)", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    Shape("an AWS secret access key", re.compile(
        rf"(?i)\b(?:aws_)?secret_access_key\b['\"]?\s*[=:]\s*['\"]?(?!{_REFERENCE})[A-Za-z0-9/+=]{{16,}}")),
    # OpenAI-style keys (sk-..., sk-proj-..., sk-ant-...): random, so they hold digits and capitals; a hyphenated word
    # such as sk-learn-classifier does not.
    Shape("an API key (sk-...)", re.compile(r"\bsk-(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{20,}")),
    Shape("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
    Shape("a password in a URL (user:password@)", re.compile(
        rf"\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:(?!{_REFERENCE}@)[^/\s@]+@")),
    Shape("a key or token given as an argument (--...-key= / --...token=)", re.compile(
        rf"(?<![A-Za-z0-9-])--[a-z0-9-]*(?:-key|token)=(?!{_REFERENCE}(?:\s|$))\S+")),
)


# What every shape contains: most strings of a tree have none of these, and need no closer look.
_HINT = re.compile(r"hf_|gh[pousr]_|github_pat_|AKIA|ASIA|(?i:secret_access_key)|sk-|eyJ|://|--")


def find_secrets(text: str) -> list[tuple[Shape, str]]:
    """Each credential-shaped part of `text`, with the shape it has."""
    if not _HINT.search(text):
        return []
    return [(shape, match.group(0)) for shape in SHAPES for match in shape.pattern.finditer(text)]


def redacted(secret: str) -> str:
    """Enough to find it (a flag's name, a URL's scheme and user, a token's prefix), never the secret itself."""
    if secret.startswith("--") and "=" in secret:
        return secret[:secret.index("=") + 1] + "..."
    if "://" in secret:
        return secret[:secret.rindex(":") + 1] + "...@"
    return secret[:6] + "..."


def _scrub(text: str) -> str:
    for _, secret in find_secrets(text):
        text = text.replace(secret, redacted(secret))
    return text


def _strings(value: Any, path: FieldPath) -> Iterator[tuple[FieldPath, str]]:
    """Every string of a document or a portfolio dump, keys included, with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _portfolio_strings(portfolio: Portfolio) -> list[tuple[FieldPath, str]]:
    return list(_strings(portfolio.model_dump(by_alias=True, mode="json"), ()))


ADVICE = ("keep it in a Secret of the cluster and pass it by reference: models[].secretEnv puts it in the model's env "
          "(vLLM reads VLLM_API_KEY itself; an argument names it as $(VAR): --api-key=$(VLLM_API_KEY)); see the README, "
          "\"Secrets\"")


def secret_problems(portfolio: Portfolio, tree: Tree) -> list[Problem]:
    """SEC006: a credential in any string the tree would commit, reported at the portfolio field it came from."""
    origins: list[tuple[FieldPath, str]] | None = None
    found: dict[tuple[FieldPath, str], Problem] = {}
    for file, documents in tree.items():
        for document in documents:
            for where, text in _strings(document, ()):
                for shape, secret in find_secrets(text):
                    origins = origins if origins is not None else _portfolio_strings(portfolio)
                    sources = ([path for path, value in origins if secret in value]  # a derived value may be lower-cased
                               or [path for path, value in origins if secret.lower() in value.lower()] or [()])
                    label = f"{document.get('kind')}/{(document.get('metadata') or {}).get('name')}"
                    for source in sources:
                        emitted = _scrub(f"{file} ({label}, {'.'.join(str(p) for p in where)})")
                        found.setdefault((source, shape.name), Problem(
                            source, "SEC006",
                            f"{shape.name} ({redacted(secret)}) would be committed in {emitted}; {ADVICE}"))
    return list(found.values())
