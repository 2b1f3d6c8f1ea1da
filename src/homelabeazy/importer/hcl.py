"""A small HCL writer whose output is already in `terraform fmt` style.

Generated Terraform is data, built as a tree of blocks and attributes and then printed; values
are escaped here and nowhere else, so a guest description with quotes, `${` or newlines cannot
break the file. `terraform fmt` aligns the `=` of consecutive one-line attributes in a body;
this writer does the same so `terraform fmt -check` passes on what it prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

INDENT = "  "


@dataclass(frozen=True)
class Expr:
    """A raw HCL expression (a reference such as `operating_system[0].template_file_id`)."""

    text: str


Value = str | int | float | bool | Expr | Sequence["Value"]


@dataclass(frozen=True)
class Attr:
    """`name = value`."""

    name: str
    value: Value


@dataclass
class Block:
    """`type "label" ... { body }`."""

    type: str
    labels: tuple[str, ...] = ()
    body: list[Attr | Block] = field(default_factory=list)

    def attr(self, name: str, value: Value | None) -> Block:
        """Append `name = value` unless value is None (an unset setting is left to the default)."""
        if value is not None:
            self.body.append(Attr(name, value))
        return self

    def block(self, child: Block | None) -> Block:
        """Append a nested block unless it is None or empty."""
        if child is not None and child.body:
            self.body.append(child)
        return self

    def add_block_always(self, child: Block) -> Block:
        """Append a nested block even when empty (a positional `ip_config {}` placeholder)."""
        self.body.append(child)
        return self


def quote(text: str) -> str:
    """An HCL string literal; template sequences `${` and `%{` are escaped to stay literal."""
    out = text.replace("\\", "\\\\").replace('"', '\\"')
    out = out.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return '"' + out.replace("${", "$${").replace("%{", "%%{") + '"'


def value_text(value: Value) -> str:
    """One value as HCL source."""
    if isinstance(value, Expr):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return quote(value)
    return "[" + ", ".join(value_text(v) for v in value) + "]"


def _block_lines(block: Block, depth: int) -> list[str]:
    pad = INDENT * depth
    head = " ".join([block.type, *(quote(label) for label in block.labels)])
    if not block.body:
        return [f"{pad}{head} {{", f"{pad}}}"]
    lines = [f"{pad}{head} {{"]
    lines += _body_lines(block.body, depth + 1)
    lines.append(f"{pad}}}")
    return lines


def _body_lines(body: list[Attr | Block], depth: int) -> list[str]:
    pad = INDENT * depth
    lines: list[str] = []
    index = 0
    previous_was_block = False
    while index < len(body):
        item = body[index]
        if isinstance(item, Block):
            if lines and not previous_was_block:
                lines.append("")
            lines += _block_lines(item, depth)
            previous_was_block = True
            index += 1
            continue
        group: list[Attr] = []
        while index < len(body) and isinstance(body[index], Attr):
            attr = body[index]
            assert isinstance(attr, Attr)
            group.append(attr)
            index += 1
        if lines:
            lines.append("")
        width = max(len(a.name) for a in group)
        lines += [f"{pad}{a.name.ljust(width)} = {value_text(a.value)}" for a in group]
        previous_was_block = False
    return lines


def render(blocks: Sequence[Block], header: str = "") -> str:
    """Top-level blocks separated by blank lines, with an optional `#` comment header."""
    chunks = ["\n".join(_block_lines(b, 0)) for b in blocks]
    prefix = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + ("\n" if header else "")
    return prefix + "\n\n".join(chunks) + "\n"
