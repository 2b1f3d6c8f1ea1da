"""The Proxmox privileges homelab's API token needs: one list, checked and documented from here.

`homelab up`'s preflight checks the token against `REQUIRED_PRIVILEGES`, and the generated README
prints the same list as `pveum` commands, so the check and the instructions cannot drift apart.
They are what the bpg/proxmox provider needs to clone or create, configure, start and tag the VMs
and to download the cloud image, granted on `/` with propagation (one role for the whole estate).
"""

from __future__ import annotations

REQUIRED_PRIVILEGES: tuple[str, ...] = (
    "Datastore.AllocateSpace",
    "Datastore.AllocateTemplate",
    "Datastore.Audit",
    "SDN.Use",
    "Sys.Audit",
    "Sys.Modify",
    "VM.Allocate",
    "VM.Audit",
    "VM.Clone",
    "VM.Config.CDROM",
    "VM.Config.Cloudinit",
    "VM.Config.CPU",
    "VM.Config.Disk",
    "VM.Config.HWType",
    "VM.Config.Memory",
    "VM.Config.Network",
    "VM.Config.Options",
    "VM.GuestAgent.Audit",
    "VM.PowerMgmt",
)

ROLE_NAME = "HomelabProvision"
"""The role the README's commands create for the token's user."""


def pveum_commands(token_id: str) -> list[str]:
    """Shell commands (run on a Proxmox node) creating the user, role, ACL and token for `token_id`.

    The token is created without privilege separation, so it has exactly its user's privileges,
    which is what preflight reads back from /access/permissions.
    """
    user, _, name = token_id.partition("!")
    return [
        f'pveum role add {ROLE_NAME} --privs "{",".join(REQUIRED_PRIVILEGES)}"',
        f"pveum user add {user}",
        f"pveum acl modify / --users {user} --roles {ROLE_NAME}",
        f"pveum user token add {user} {name} --privsep 0",
    ]
