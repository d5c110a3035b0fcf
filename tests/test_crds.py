"""CRD YAML to strict JSON Schema, kubeconform-style, on small CRDs written for the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from generator.checks.crds import CrdCatalog, to_json_schema
from generator.errors import UsageError

CRDS = ROOT / "tests" / "fixtures" / "crds"
WIDGET_CRD = next((CRDS / "conversion").glob("*.yaml")).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog() -> CrdCatalog:
    return CrdCatalog.from_dirs([CRDS / "conversion"])


def widget(**spec: object) -> dict[str, object]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec}


def messages(catalog: CrdCatalog, doc: dict[str, object]) -> list[str]:
    errors = catalog.errors(doc)
    assert errors is not None
    return [e.message for e in errors]


def test_int_or_string_accepts_both_and_nothing_else(catalog: CrdCatalog) -> None:
    assert messages(catalog, widget(size=3)) == []
    assert messages(catalog, widget(size="3Gi")) == []
    assert messages(catalog, widget(size=[3])) != []


def test_nullable_admits_null_and_keeps_the_enum(catalog: CrdCatalog) -> None:
    assert messages(catalog, widget(size=1, note=None, mode=None)) == []
    assert messages(catalog, widget(size=1, mode="medium")) == ["'medium' is not one of ['fast', 'slow', None]"]


def test_preserve_unknown_fields_keeps_an_object_open_but_still_types_known_fields(catalog: CrdCatalog) -> None:
    assert messages(catalog, widget(size=1, config={"anything": {"goes": True}, "known": 1})) == []
    assert messages(catalog, widget(size=1, config={"known": "one"})) == ["'one' is not of type 'integer'"]


def test_unknown_fields_are_errors_elsewhere(catalog: CrdCatalog) -> None:
    assert messages(catalog, widget(size=1, sise=2)) == ["Additional properties are not allowed ('sise' was unexpected)"]
    assert messages(catalog, widget(size=1, labels={"free": "form"})) == []


def test_missing_required_field(catalog: CrdCatalog) -> None:
    assert messages(catalog, widget()) == ["'size' is a required property"]


def test_served_version_is_matched_to_the_api_version(catalog: CrdCatalog) -> None:
    old = {"apiVersion": "example.com/v1beta1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"oldField": "x"}}
    assert messages(catalog, old) == []
    assert sorted(messages(catalog, {**old, "apiVersion": "example.com/v1"})) == [
        "'size' is a required property", "Additional properties are not allowed ('oldField' was unexpected)"]
    assert catalog.find("example.com/v1alpha1", "Widget") is None  # not served


def test_a_list_with_several_crds_is_read_whole(catalog: CrdCatalog) -> None:
    assert sorted(catalog.by_key) == [("example.com/v1", "Gadget"), ("example.com/v1", "Widget"),
                                      ("example.com/v1beta1", "Widget")]
    # Gadget declares no schema: validation cannot check it.
    assert catalog.errors({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}}) is None


def test_several_crds_in_one_multi_document_file() -> None:
    catalog = CrdCatalog.from_dirs([CRDS / "mini"])
    assert ("kueue.x-k8s.io/v1beta1", "ClusterQueue") in catalog.by_key
    assert ("kueue.x-k8s.io/v1beta1", "LocalQueue") in catalog.by_key


def test_conversion_of_a_node() -> None:
    converted = to_json_schema({"type": "object", "properties": {"a": {"type": "string", "nullable": True},
                                                                 "b": {"x-kubernetes-int-or-string": True}}})
    assert converted == {"type": "object", "additionalProperties": False, "properties": {
        "a": {"type": ["string", "null"]}, "b": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}}


def test_a_crd_dir_that_is_not_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a directory"):
        CrdCatalog.from_dirs([tmp_path / "missing"])


def test_converted_crds_are_cached_by_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.checks import crds

    monkeypatch.setenv("GPUAAS_GENERATOR_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "crds"
    source.mkdir()
    (source / "widget.yaml").write_text(WIDGET_CRD, encoding="utf-8")
    first = CrdCatalog.from_dirs([source])
    [index] = [p for p in (tmp_path / "cache").iterdir() if p.name.count("-") == 1]  # <sha>-<conversion>.json
    # read back from the cache, not converted again: the YAML reader is never called
    monkeypatch.setattr(crds, "_crd_documents", lambda path: pytest.fail("converted again"))
    second = CrdCatalog.from_dirs([source])
    assert second.by_key == first.by_key and second.find("example.com/v1", "Widget") is not None
    # a changed file is a new key; a damaged cache entry is converted again
    monkeypatch.undo()
    monkeypatch.setenv("GPUAAS_GENERATOR_CACHE", str(tmp_path / "cache"))
    index.write_text("{not json", encoding="utf-8")
    assert CrdCatalog.from_dirs([source]).by_key == first.by_key


def test_an_unwritable_cache_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("GPUAAS_GENERATOR_CACHE", str(blocker / "cache"))  # below a file: cannot be created
    source = tmp_path / "crds"
    source.mkdir()
    (source / "widget.yaml").write_text(WIDGET_CRD, encoding="utf-8")
    assert CrdCatalog.from_dirs([source]).find("example.com/v1", "Widget") is not None


def test_a_crd_with_a_dangling_reference_is_a_positioned_crd_error(capsys: pytest.CaptureFixture[str]) -> None:
    from generator.cli import main

    assert main(["validate", "--portfolio", str(ROOT / "tests/fixtures/portfolios/valid/minimal/portfolio.yaml"),
                 "--crd-dir", str(CRDS / "dangling-ref"), "--allow-missing-schemas"]) == 1
    err = capsys.readouterr().err
    assert "gadgets.yaml:19:15: error [CRD005] openAPIV3Schema.properties.spec.$ref:" in err
    assert "'#/definitions/GadgetSpec'" in err and "internal error" not in err


def test_a_schema_that_cannot_be_followed_is_reported_not_raised() -> None:
    from generator.checks.crds import CrdVersion
    from generator.errors import UsageError

    schema = {"type": "object", "properties": {"spec": {"$ref": "#/definitions/Missing"}}}
    catalog = CrdCatalog(versions=[CrdVersion("example.com", "v1", "Gadget", schema, "gadgets.yaml")])
    with pytest.raises(UsageError, match="cannot be used"):
        catalog.errors({"apiVersion": "example.com/v1", "kind": "Gadget", "spec": {}})
