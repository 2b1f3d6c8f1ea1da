"""The JSON Schema of homelab.yaml, generated from the pydantic models and their attribute
docstrings: what `make docs-gen` writes into the package as `homelab.schema.json`."""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
from typing import Any

from pydantic import BaseModel

from homelabeazy.config import schema as config_schema
from homelabeazy.config.schema import HomelabConfig

SCHEMA_ID = "https://homelabeazy.dev/schema/homelab.schema.json"


def json_schema_text() -> str:
    """JSON Schema of homelab.yaml, generated from the pydantic models and their docstrings."""
    schema = HomelabConfig.model_json_schema(by_alias=True)
    _describe_fields(schema)
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def attribute_docs(model: type[BaseModel]) -> dict[str, str]:
    """Field name -> the docstring written under it in the class body (inherited ones included).

    Read here, when a schema is asked for, rather than by pydantic's `use_attribute_docstrings` at
    import: that reads and parses the source of every model each time homelab starts, and only
    the JSON Schema uses the text.
    """
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if not issubclass(klass, BaseModel) or klass is BaseModel:
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0]
        assert isinstance(body, ast.ClassDef)
        for field, doc in zip(body.body, body.body[1:], strict=False):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant)
                and isinstance(doc.value.value, str)
            ):
                docs[field.target.id] = inspect.cleandoc(doc.value.value)
    return docs


def _describe_fields(schema: dict[str, Any]) -> None:
    """Give each property of each model in `schema` its attribute docstring as `description`."""
    models = {
        name: value
        for name, value in vars(config_schema).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }
    for name, definition in [(HomelabConfig.__name__, schema), *schema.get("$defs", {}).items()]:
        model = models.get(name)
        if model is None:
            continue
        docs = attribute_docs(model)
        aliases = {info.alias or field: field for field, info in model.model_fields.items()}
        for key, prop in definition.get("properties", {}).items():
            doc = docs.get(aliases.get(key, key))
            if doc and "description" not in prop:
                prop["description"] = doc
