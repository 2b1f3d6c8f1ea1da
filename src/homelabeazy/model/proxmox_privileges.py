"""The Proxmox privileges homelab's API token needs, per Proxmox VE major version: one list.

`homelab up`'s preflight checks the token against `required_privileges(<detected version>)`, and
the generated README prints the same lists as `pveum` commands (one block per supported major,
since the README cannot know the version), so the check and the instructions cannot drift apart.
They are what the bpg/proxmox provider needs to clone or create, configure, start and tag the VMs,
to read their addresses through the guest agent and to download the cloud image, granted on `/`
with propagation (one role for the whole estate).

Why it depends on the version: Proxmox VE 9.0 dropped `VM.Monitor` and split guest-agent access
into `VM.GuestAgent.*` privileges. Reading a VM's addresses through the agent needs `VM.Monitor`
on 8.x and `VM.GuestAgent.Audit` on 9.x; `pveum role add` refuses a privilege its version does
not know, so a single list cannot serve both. (9.x: the API description in ../shared lists
`VM.GuestAgent.Audit` and no `VM.Monitor`; 8.x: the 9.0 release notes name `VM.Monitor` as the
privilege that was dropped.)

The cloud-image download (`content_type = "import"` of the provider's download_file resource,
used as `disk.import_from`) needs the storage content type `import`, which Proxmox VE has from
8.4 on; older releases can only clone a template (`proxmox.template`).
"""

from __future__ import annotations

from dataclasses import dataclass

COMMON_PRIVILEGES: tuple[str, ...] = (
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
    "VM.PowerMgmt",
)
"""Privileges that exist, with the same meaning, on Proxmox VE 8.x and 9.x."""

GUEST_AGENT_PRIVILEGE: dict[int, str] = {8: "VM.Monitor", 9: "VM.GuestAgent.Audit"}
"""The privilege that lets the provider read a VM's addresses through the QEMU guest agent."""

VERSION_NOTE = (
    "Proxmox VE 9.0 dropped `VM.Monitor` and split guest-agent access into `VM.GuestAgent.*` "
    "privileges: reading a VM's addresses through the guest agent needs `VM.Monitor` on 8.x and "
    "`VM.GuestAgent.Audit` on 9.x, and `pveum role add` refuses a privilege its version does not "
    "know, so each major version has its own list"
)
"""Why there is one list per major version: every place that shows the lists says it in these words."""

PURPOSE: dict[str, str] = {
    "Datastore.AllocateSpace": "create the VMs' disks",
    "Datastore.AllocateTemplate": "download the cloud image onto a storage",
    "Datastore.Audit": "read the storages the VMs and the image go to",
    "SDN.Use": "attach the VMs to the bridge and its VLANs",
    "Sys.Audit": "read node facts (the image download asks for it)",
    "Sys.Modify": "the image download (it writes onto the node's storage)",
    "VM.Allocate": "create and remove the VMs",
    "VM.Audit": "read the VMs' configuration",
    "VM.Clone": "clone a template (`proxmox.template`)",
    "VM.Config.CDROM": "the cloud-init drive (it counts as a CD-ROM)",
    "VM.Config.Cloudinit": "cloud-init settings: user, SSH keys, addresses",
    "VM.Config.CPU": "cores and CPU type",
    "VM.Config.Disk": "disks: size, storage, import from the image",
    "VM.Config.HWType": "machine type, BIOS, SCSI controller",
    "VM.Config.Memory": "memory",
    "VM.Config.Network": "network devices and VLAN tags",
    "VM.Config.Options": "name, tags, boot order, agent, start on boot",
    "VM.PowerMgmt": "start, stop and reboot the VMs",
    "VM.Monitor": "read the VMs' addresses through the QEMU guest agent (Proxmox VE 8.x)",
    "VM.GuestAgent.Audit": "read the VMs' addresses through the QEMU guest agent (Proxmox VE 9.x)",
}
"""What each privilege is needed for: the documentation's table is made from this."""

SUPPORTED_MAJORS: tuple[int, ...] = tuple(sorted(GUEST_AGENT_PRIVILEGE))
IMPORT_CONTENT_SINCE: tuple[int, int] = (8, 4)
"""First Proxmox VE release with the `import` storage content type (cloud-image downloads)."""

ROLE_NAME = "HomelabProvision"
"""The role the README's commands create for the token's user."""


@dataclass(frozen=True, order=True)
class PveVersion:
    """A Proxmox VE release `major.minor`, as GET /version's `release` reports it."""

    major: int
    minor: int

    @classmethod
    def parse(cls, release: str) -> PveVersion:
        """`"9.1"` -> PveVersion(9, 1); a value of another shape raises ValueError."""
        major, _, minor = release.strip().partition(".")
        return cls(int(major), int(minor.split(".")[0] or 0))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def supported(self) -> bool:
        """Whether homelab knows this major's privileges (a newer one is refused, not guessed)."""
        return self.major in GUEST_AGENT_PRIVILEGE

    @property
    def has_import_content(self) -> bool:
        """Whether storages can hold the `import` content type the cloud-image download needs."""
        return (self.major, self.minor) >= IMPORT_CONTENT_SINCE


def required_privileges(major: int) -> tuple[str, ...]:
    """Every privilege the token needs on Proxmox VE `major`, sorted as `pveum` lists them."""
    if major not in GUEST_AGENT_PRIVILEGE:
        known = ", ".join(f"{m}.x" for m in SUPPORTED_MAJORS)
        raise ValueError(f"Proxmox VE {major}.x is not supported (known: {known})")
    return tuple(sorted((*COMMON_PRIVILEGES, GUEST_AGENT_PRIVILEGE[major]), key=str.lower))


def pveum_commands(token_id: str, major: int) -> list[str]:
    """Shell commands (run on a Proxmox VE `major`.x node) creating the user, role, ACL and token.

    The token is created without privilege separation, so it has exactly its user's privileges,
    which is what preflight reads back from /access/permissions.
    """
    user, _, name = token_id.partition("!")
    return [
        f'pveum role add {ROLE_NAME} --privs "{",".join(required_privileges(major))}"',
        f"pveum user add {user}",
        f"pveum acl modify / --users {user} --roles {ROLE_NAME}",
        f"pveum user token add {user} {name} --privsep 0",
    ]
