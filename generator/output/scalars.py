"""Which strings may be written as plain YAML scalars: those that every reader of the tree takes for a string.

The tree is read by PyYAML and libyaml (YAML 1.1), ruamel (YAML 1.2), go-yaml v2 (sigs.k8s.io/yaml: kubectl, the
API server, Argo CD) and go-yaml v3 (kyaml: kustomize). A plain scalar that any of them resolves to a number, a
boolean, null, a timestamp or a merge key changes type somewhere on the way to the cluster, so it is quoted. The
rule below is the union of what those readers resolve, kept broad on purpose: quoting a string that needs no quotes
costs two characters; leaving one plain that a reader turns into 7054400000 costs a broken object.
"""

from __future__ import annotations

import datetime
import re

import yaml

# Booleans of YAML 1.1 (go-yaml v2 adds y and n) and 1.2, and null, in any case: some reader takes each for one.
_WORDS = frozenset({"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", "", "=", "<<"})
_GO_YAML_V3_WORDS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~", "", "<<"})
# After go-yaml's removal of '_': integers as Go's strconv.ParseInt reads them with base 0 (0x, 0o, 0b, a leading 0
# for octal, decimal), which both go-yaml versions use; all-digit strings that are not valid octal (09) go-yaml then
# reads as floats, so every run of digits counts.
_INTEGER = re.compile(r"[-+]?(?:0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)")
# go-yaml's float (1e3, .5, 7.) and YAML 1.1's (with '_'), and the infinities and NaN of YAML 1.1 and 1.2.
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|nan)", re.IGNORECASE)
# YAML 1.1's base-60 numbers (1:20 is 80 to PyYAML).
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
# Timestamps: go-yaml reads any YYYY-M-D prefix (one-digit month and day) followed by nothing, T, t or a space.
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?", re.DOTALL)

# go-yaml's own timestamp layouts: 2006-1-2T15:4:5.999999999Z07:00 (T or t), 2006-1-2 15:4:5.999999999, 2006-1-2.
_GO_TIMESTAMP = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?"
                           r"(?:Z|[-+][0-9]{2}:[0-9]{2})| ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?)?")

_RESOLVER = yaml.resolver.Resolver()


def _pyyaml_reads_as_string(value: str) -> bool:
    tag = _RESOLVER.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == "tag:yaml.org,2002:str")


def resolves_as_number_or_time(value: str) -> bool:
    """What go-yaml v2 and v3 (and YAML 1.1 and 1.2) may read as an integer, a float, a base-60 number or a timestamp."""
    if value[:1] not in "0123456789+-.":  # every number, timestamp and special float starts with one of these
        return False
    plain = value.replace("_", "")
    return bool(_INTEGER.fullmatch(plain) or _FLOAT.fullmatch(plain) or _SEXAGESIMAL.fullmatch(value)
                or _TIMESTAMP.fullmatch(value))


def _go_timestamp(value: str) -> bool:
    """A timestamp in one of go-yaml's layouts, with a date and time that exist (Go's time.Parse checks both)."""
    match = _GO_TIMESTAMP.fullmatch(value)
    if match is None:
        return False
    year, month, day = (int(g) for g in match.groups()[:3])
    hour, minute, second = (int(g or 0) for g in (match.group(4) or match.group(7), match.group(5) or match.group(8),
                                                   match.group(6) or match.group(9)))
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return hour < 24 and minute < 60 and second < 60


def go_yaml_v3_non_string(value: str) -> bool:
    """What go-yaml v3 (kyaml, kustomize) resolves to something other than a string when it is written plain."""
    if value in _GO_YAML_V3_WORDS or _go_timestamp(value):
        return True
    plain = value.replace("_", "")
    return value[:1] in "0123456789+-." and bool(_INTEGER.fullmatch(plain) or _FLOAT.fullmatch(plain))


# The first characters of every non-string plain scalar above (and of PyYAML's own implicit types; '_' for ruamel's).
_MAY_RESOLVE = frozenset("yYnNtTfFoO~=<-+._0123456789")


def ruamel_number_with_underscores(value: str) -> bool:
    """ruamel's YAML 1.2 resolver takes digits and '_' mixed in any order (`_`, `-_`, `._`, `0b_`) for an integer or a
    float, then fails to build one: such a string, written plain, cannot be read back at all."""
    return "_" in value and re.fullmatch(r"[-+]?[0-9_.][0-9a-fA-FxXoObBeE_.+-]*", value) is not None


def needs_quotes(value: str) -> bool:
    """True when some YAML reader of the tree would take the plain scalar `value` for something other than a string."""
    if value[:1] not in _MAY_RESOLVE and value:  # most strings: a name, a path, a sentence
        return False
    return (value.lower() in _WORDS or resolves_as_number_or_time(value) or ruamel_number_with_underscores(value)
            or not _pyyaml_reads_as_string(value))
