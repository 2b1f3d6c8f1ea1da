"""Record discovered guests in homelab.yaml as `unmanaged:` inventory, keeping the user's file intact.

Pure text -> text with ruamel's round-trip mode: comments, key order, quoting and the other
sections survive. Entries are matched by vmid, so a re-run updates them in place (keeping any
comment the user wrote beside one) and is a no-op when nothing changed. Guests the homelab itself
manages (its K3s node VMIDs) are never recorded as unmanaged.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from homelabeazy.importer.guests import Guest

KEY = "unmanaged"


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the user's long lines
    yaml.indent(mapping=2, sequence=4, offset=2)  # the style of `homelab init`'s example
    return yaml


def unmanaged_entries(guests: Sequence[Guest], managed_vmids: Collection[int]) -> list[dict[str, Any]]:
    """The `unmanaged:` entries for `guests`, by vmid, leaving out guests the homelab manages."""
    entries = []
    for guest in sorted(guests, key=lambda g: g.vmid):
        if guest.vmid in managed_vmids:
            continue
        entry: dict[str, Any] = {
            "name": guest.name,
            "vmid": guest.vmid,
            "node": guest.node,
            "kind": guest.kind,
        }
        if guest.ip is not None:
            entry["ip"] = guest.ip
        entries.append(entry)
    return entries


def record_unmanaged(text: str, guests: Sequence[Guest], managed_vmids: Collection[int] = ()) -> str:
    """`text` (a homelab.yaml) with its `unmanaged:` list set to the discovered guests."""
    yaml = _yaml()
    tree = yaml.load(text)
    if not isinstance(tree, CommentedMap):
        raise ValueError("homelab.yaml must be a mapping at the top level")
    old = tree.get(KEY)
    by_vmid: dict[int, CommentedMap] = {}
    if isinstance(old, CommentedSeq):
        by_vmid = {
            int(item["vmid"]): item for item in old if isinstance(item, CommentedMap) and "vmid" in item
        }
    seq = old if isinstance(old, CommentedSeq) else CommentedSeq()
    wanted = []
    for entry in unmanaged_entries(guests, managed_vmids):
        item = by_vmid.get(entry["vmid"], CommentedMap())
        for key, value in entry.items():
            if item.get(key) != value:
                item[key] = value
        if "ip" not in entry and "ip" in item:
            del item["ip"]
        wanted.append(item)
    seq[:] = wanted
    if KEY not in tree:
        tree[KEY] = seq
        tree.yaml_set_comment_before_after_key(
            KEY, before="\nProxmox guests found by `homelab import` that this homelab does not manage."
        )
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()
