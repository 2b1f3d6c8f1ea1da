"""Record discovered guests in homelab.yaml as `unmanaged:` inventory, keeping the user's file intact.

Pure text -> text with ruamel's round-trip mode: comments, key order, quoting and the other
sections survive. Entries are matched by vmid, so a re-run updates them in place (keeping any
comment the user wrote beside one) and is a no-op when nothing changed. Guests the homelab itself
manages (a K3s node VM: same VMID *and* name) are never recorded as unmanaged; a guest that holds
a VMID the homelab assigns to one of its nodes under another name is recorded and reported as a
clash, because `homelab up` could not create that node.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping, Sequence
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


def is_managed(guest: Guest, managed: Mapping[int, str]) -> bool:
    """Whether `guest` is one of the homelab's own node VMs (VMID -> node name of the model)."""
    return managed.get(guest.vmid) == guest.name


def vmid_clashes(guests: Sequence[Guest], managed: Mapping[int, str]) -> list[str]:
    """Guests that hold a VMID the homelab assigns to one of its nodes under another name."""
    return [
        f"VMID {g.vmid} is taken by {g.kind} guest {g.name!r} on {g.node}, but homelab.yaml assigns it to "
        f"node {managed[g.vmid]!r}: change proxmox.vmid_start"
        for g in sorted(guests, key=lambda g: g.vmid)
        if g.vmid in managed and not is_managed(g, managed)
    ]


def unmanaged_entries(guests: Sequence[Guest], managed: Mapping[int, str]) -> list[dict[str, Any]]:
    """The `unmanaged:` entries for `guests`, by vmid, leaving out the homelab's own node VMs."""
    entries = []
    for guest in sorted(guests, key=lambda g: g.vmid):
        if is_managed(guest, managed):
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


def record_unmanaged(
    text: str,
    guests: Sequence[Guest],
    managed: Mapping[int, str] | None = None,
    keep: Collection[int] = (),
) -> str:
    """`text` (a homelab.yaml) with its `unmanaged:` list set to the discovered guests.

    Entries whose VMID is in `keep` (guests that exist but could not be read this time) stay as
    they are: a transient read failure must not erase what an earlier import recorded.
    """
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
    wanted: list[tuple[int, CommentedMap]] = []
    for entry in unmanaged_entries(guests, managed or {}):
        item = by_vmid.get(entry["vmid"], CommentedMap())
        for key, value in entry.items():
            if item.get(key) != value:
                item[key] = value
        if "ip" not in entry and "ip" in item:
            del item["ip"]
        wanted.append((entry["vmid"], item))
    wanted += [(vmid, item) for vmid, item in by_vmid.items() if vmid in keep]
    seq[:] = [item for _, item in sorted(wanted, key=lambda pair: pair[0])]
    if KEY not in tree:
        tree[KEY] = seq
        tree.yaml_set_comment_before_after_key(
            KEY, before="\nProxmox guests found by `homelab import` that this homelab does not manage."
        )
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()
