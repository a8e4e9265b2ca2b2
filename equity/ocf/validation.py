"""Validation of OCF files against the official JSON schemas (draft-07) in `schema/`, offline.

Each `$ref` in the schemas is an absolute URL; every one is registered from the local files, so jsonschema never
tries the network. A file is checked in two steps, as the OCF project's own CI does: its envelope against the file
schema (with the items left out), then each item against the schema of its `object_type`, with a check that the
type belongs in that file. The TransactionsFile schema's `items.oneOf` omits four transaction types that have
their own object schemas (and the official sample uses them), so whole-file validation would reject valid files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
OCF_VERSION = "1.2.1-alpha+main"
MANIFEST_FILE_TYPE = "OCF_MANIFEST_FILE"
TRANSACTIONS_FILE_TYPE = "OCF_TRANSACTIONS_FILE"
MAX_ERRORS = 50


@dataclass(frozen=True)
class Schemas:
    registry: Registry[Any]
    by_id: dict[str, dict[str, Any]]
    file_schemas: dict[str, str]  # file_type -> $id of the file schema
    object_schemas: dict[str, str]  # object_type -> $id of the object schema
    allowed_types: dict[str, frozenset[str]]  # file_type -> the object types its items may have


def _const(schema: dict[str, Any], field: str) -> str | None:
    value = schema.get("properties", {}).get(field, {}).get("const")
    return value if isinstance(value, str) else None


def _object_types(schema: dict[str, Any]) -> list[str]:
    """The object types a schema describes: its `const`, or the `enum` that keeps a deprecated alias
    (TX_PLAN_SECURITY_* beside TX_EQUITY_COMPENSATION_*)."""
    field = schema.get("properties", {}).get("object_type", {})
    values = [field["const"]] if "const" in field else field.get("enum", [])
    return [value for value in values if isinstance(value, str)]


def _item_refs(schema: dict[str, Any]) -> list[str]:
    items = schema.get("properties", {}).get("items", {}).get("items", {})
    if "$ref" in items:
        return [items["$ref"]]
    return [option["$ref"] for key in ("oneOf", "anyOf") for option in items.get(key, []) if "$ref" in option]


@cache
def schemas() -> Schemas:
    by_id: dict[str, dict[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.rglob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        by_id[schema["$id"]] = schema
    registry: Registry[Any] = Registry().with_resources(
        (schema_id, Resource.from_contents(schema, default_specification=DRAFT7)) for schema_id, schema in by_id.items()
    )
    file_schemas: dict[str, str] = {}
    object_schemas: dict[str, str] = {}
    for schema_id, schema in by_id.items():
        if "/schema/files/" in schema_id and (file_type := _const(schema, "file_type")):
            file_schemas[file_type] = schema_id
        elif "/schema/objects/" in schema_id:
            for object_type in _object_types(schema):  # a schema of its own (a const) wins over an alias
                if object_type not in object_schemas or "const" in schema["properties"]["object_type"]:
                    object_schemas[object_type] = schema_id
    allowed: dict[str, frozenset[str]] = {}
    for file_type, schema_id in file_schemas.items():
        types = {t for ref in _item_refs(by_id[schema_id]) if ref in by_id for t in _object_types(by_id[ref])}
        if file_type == TRANSACTIONS_FILE_TYPE:  # every transaction and change-event type, see the module docstring
            types |= {t for t, i in object_schemas.items() if "/schema/objects/transactions/" in i}
        allowed[file_type] = frozenset(types)
    return Schemas(registry, by_id, file_schemas, object_schemas, allowed)


@cache
def _validator(schema_id: str) -> Draft7Validator:
    loaded = schemas()
    return Draft7Validator(loaded.by_id[schema_id], registry=loaded.registry,
                           format_checker=Draft7Validator.FORMAT_CHECKER)


def _describe(error: ValidationError) -> tuple[str, str]:
    """The field path and message of an error; for oneOf/anyOf, the most relevant error of the branches."""
    if error.context:
        deepest = best_match(error.context)
        if deepest is not None:
            error = deepest
    field = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        if missing:
            field = ".".join(filter(None, [field, str(missing[0])]))
    elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [name for name in error.instance if name not in allowed]
        if extra:
            field = ".".join(filter(None, [field, str(extra[0])]))
    return field or "(whole object)", error.message


def _errors(validator: Draft7Validator, instance: Any, where: str) -> list[str]:
    found = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
    messages = []
    for error in found:
        field, message = _describe(error)
        messages.append(f"{where}, field {field}: {message}")
    return messages


def file_errors(filename: str, document: Any) -> list[str]:
    """Every schema error of one OCF file, each naming the file, the item (id and type) and the field."""
    loaded = schemas()
    if not isinstance(document, dict):
        return [f"{filename}: an OCF file is a JSON object, not {type(document).__name__}."]
    file_type = document.get("file_type")
    if file_type not in loaded.file_schemas:
        return [f"{filename}, field file_type: {file_type!r} is not an OCF file type."]
    items = document.get("items")
    envelope = {**document, "items": []} if isinstance(items, list) else document
    errors = _errors(_validator(loaded.file_schemas[file_type]), envelope, filename)
    if not isinstance(items, list):
        return errors
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"{filename}, item #{index + 1}: an item is a JSON object.")
            continue
        object_type, item_id = item.get("object_type"), item.get("id", f"#{index + 1}")
        where = f"{filename}, item {item_id} ({object_type})"
        if object_type not in loaded.object_schemas:
            errors.append(f"{where}, field object_type: {object_type!r} is not an OCF object type.")
        elif object_type not in loaded.allowed_types.get(file_type, frozenset()):
            errors.append(f"{where}, field object_type: a {object_type} does not belong in an {file_type}.")
        else:
            errors += _errors(_validator(loaded.object_schemas[object_type]), item, where)
        if len(errors) >= MAX_ERRORS:
            break
    return errors[:MAX_ERRORS]
