"""Deterministic text for generated data files: YAML and JSON dumps, never string-built."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from ruamel.yaml import YAML


class AnsibleTemplate(str):
    """A string the renderer itself means Ansible to template (`{{ groups['k3s_servers'][0] }}`).

    Never built from user text: `to_ansible_yaml` writes every other string holding a `{` as
    `!unsafe`, so Ansible treats it as data and a rule description like
    `{{ lookup('pipe', 'touch /tmp/pwned') }}` stays those characters.
    """

    __slots__ = ()


class _Unsafe(str):
    __slots__ = ()


class Block(str):
    """A multi-line string written as a literal block (`|`), as a shell script in a CI step is read."""

    __slots__ = ()


class Commented(str):
    """A scalar written with a comment after it on its line (`uses: a/b@<commit> # v4.4.0`).

    The safe emitter writes no comments, so `to_yaml` appends them to the lines that end in the
    scalar: meant for values unique in their file (a commit hash), never for user text.
    """

    __slots__ = ("comment",)
    comment: str

    def __new__(cls, value: str, comment: str) -> Commented:
        if "\n" in value or "\n" in comment:
            raise ValueError("a commented scalar and its comment are one line each")
        self = super().__new__(cls, value)
        self.comment = comment
        return self


def _comments(data: Any, found: dict[str, str]) -> dict[str, str]:
    """Every Commented scalar below `data` -> its comment."""
    if isinstance(data, Commented):
        found[str(data)] = data.comment
    elif isinstance(data, dict):
        for value in data.values():
            _comments(value, found)
    elif isinstance(data, list | tuple):
        for item in data:
            _comments(item, found)
    return found


def _represent_commented(representer: Any, value: Commented) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:str", str(value))


def _represent_unsafe(representer: Any, value: _Unsafe) -> Any:
    return representer.represent_scalar("!unsafe", str(value))


def _represent_block(representer: Any, value: Block) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold long strings: folding differs between emitters
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.representer.add_representer(_Unsafe, _represent_unsafe)
    yaml.representer.add_representer(Block, _represent_block)
    yaml.representer.add_representer(Commented, _represent_commented)
    return yaml


def ansible_data(data: Any) -> Any:
    """`data` with every string Ansible could template marked `!unsafe` (keys included).

    Jinja's delimiters all start with `{`; a string without one cannot template, and marking any
    `{` (not just `{{`) keeps two halves in two variables from joining into a template.
    """
    if isinstance(data, AnsibleTemplate):
        return str(data)
    if isinstance(data, str):
        return _Unsafe(data) if "{" in data else str(data)
    if isinstance(data, dict):
        return {ansible_data(key): ansible_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [ansible_data(item) for item in data]
    return data


def to_ansible_yaml(data: Any, header: str = "") -> str:
    """A YAML file Ansible reads (inventory, group_vars, vars files): user strings are data."""
    return to_yaml(ansible_data(data), header)


def to_yaml(data: Any, header: str = "") -> str:
    """One YAML document; keys keep their insertion order (renderers build them in a fixed order)."""
    stream = io.StringIO()
    _yaml().dump(data, stream)
    text = stream.getvalue()
    comments = _comments(data, {})
    if comments:
        text = "".join(_with_comment(line, comments) for line in text.splitlines(keepends=True))
    return header + text


def _with_comment(line: str, comments: dict[str, str]) -> str:
    body = line.rstrip("\n")
    for value, comment in comments.items():
        if body.endswith((f": {value}", f"- {value}")):
            return f"{body} # {comment}\n"
    return line


def to_yaml_documents(documents: Iterable[Any], header: str = "") -> str:
    """Several YAML documents separated by `---`, for multi-resource manifest files."""
    parts = [to_yaml(doc) for doc in documents]
    return header + "---\n" + "---\n".join(parts)


def to_json(data: Any) -> str:
    """Pretty, key-sorted JSON with a final newline (terraform *.auto.tfvars.json and the like)."""
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


_KUBE_DUMPER: type[Any] | None = None


def _libyaml_dumper() -> type[Any]:
    """libyaml's dumper (PyYAML's pure one where libyaml is missing), multi-line strings as `|` blocks."""
    global _KUBE_DUMPER  # noqa: PLW0603 - built once, on first use
    if _KUBE_DUMPER is None:
        import yaml  # noqa: PLC0415 - only the Kubernetes renderer needs PyYAML

        base = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

        def represent_str(dumper: Any, value: str) -> Any:
            style = "|" if "\n" in value else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

        dumper: Any = type("KubeDumper", (base,), {})
        dumper.add_representer(str, represent_str)
        _KUBE_DUMPER = dumper
    return _KUBE_DUMPER


def to_yaml_kube(data: Any, header: str = "") -> str:
    """One YAML document in kubectl's style, emitted by libyaml (C).

    The Kubernetes tree is hundreds of documents; the pure-Python emitter behind `to_yaml` takes
    most of a second for them, libyaml a twentieth. Keys keep insertion order; block sequences sit
    at their key's indentation, as `kubectl get -o yaml` prints them.
    """
    import yaml  # noqa: PLC0415

    text: str = yaml.dump(
        data,
        Dumper=_libyaml_dumper(),
        sort_keys=False,
        default_flow_style=False,
        width=4096,
        allow_unicode=True,
    )
    return header + text


def to_yaml_kube_documents(documents: Iterable[Any], header: str = "") -> str:
    """Several kubectl-style documents separated by `---`."""
    return header + "---\n" + "---\n".join(to_yaml_kube(doc) for doc in documents)
