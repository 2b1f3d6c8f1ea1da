"""The outside tools the rendered repo and the lifecycle need: minimum versions and tested pins.

One source of truth for three readers: the rendered `ansible/requirements.yml` (and the network
playbooks' requirements), the rendered README's "Tested with" table, and `homelab doctor` /
`up`'s preflight, which compare what is installed against these numbers. Pure data; the only
reads are of the package's own files: the blueprint (Terraform's `required_version`, so the version
doctor demands is exactly the one `terraform init` of the rendered tree enforces) and, for the
rendered CI, the digest of this build (`package_digest`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

Version = tuple[int, ...]


def version_text(version: Version) -> str:
    """(1, 6) -> `1.6`."""
    return ".".join(str(p) for p in version)


def parse_version_text(text: str) -> Version:
    """`11.4.2` -> (11, 4, 2); the numeric prefix of each part (`9.2p1` -> (9, 2))."""
    parts: list[int] = []
    for piece in text.strip().lstrip("v").split("."):
        digits = re.match(r"\d+", piece)
        if digits is None:
            break
        parts.append(int(digits.group()))
    if not parts:
        raise ValueError(f"no version number in {text!r}")
    return tuple(parts)


def terraform_min_version() -> Version:
    """The `required_version = ">= X"` of the blueprint's versions.tf (what the rendered tree accepts)."""
    text = files("homelabeazy.blueprint").joinpath("terraform", "versions.tf").read_text(encoding="utf-8")
    match = re.search(r'required_version\s*=\s*">=\s*([0-9.]+)"', text)
    if match is None:  # a blueprint edit that breaks this must fail the test suite, not doctor
        raise LookupError('blueprint/terraform/versions.tf has no `required_version = ">= X"`')
    return parse_version_text(match.group(1))


@dataclass(frozen=True)
class Tool:
    """A command-line tool: the oldest version that works, the one tested, and who needs it."""

    name: str
    minimum: Version
    tested: str
    needed_for: str
    install: str
    required: bool = True
    for_up: bool = True
    """`homelab up` runs it (its preflight checks it); False: other commands only (validate --deep)."""
    for_deep: bool = False
    """`homelab validate --deep` runs it: it refuses to start, naming every such tool missing."""

    @property
    def wanted(self) -> str:
        """`>= 1.6`, or `any version` when there is no floor."""
        return f">= {version_text(self.minimum)}" if self.minimum > (0,) else "any version"


@dataclass(frozen=True)
class Collection:
    """An Ansible collection the rendered playbooks call modules from, pinned to the tested version."""

    name: str
    version: str
    tested: bool = True
    """False: pinned but never run here (pfsensible.core: no pfSense on the test machines)."""


HELM_MIN_VERSION = (3, 16)
"""`validate --deep` renders with `--skip-schema-validation` (Helm 3.16+) for charts whose values schema
refers to a URL Helm cannot fetch offline."""
ANSIBLE_CORE_TESTED = "2.19.14"
DEEP_EXTRA = "homelabeazy[deep]"
"""What pip can bring for `validate --deep` (pyproject's `deep` extra: the `ansible` package); Helm
is a Go binary no package index carries, so it is installed on its own."""

TOOLS: tuple[Tool, ...] = (
    Tool(
        "terraform",
        terraform_min_version(),
        "1.11.4",
        "up: provision the VMs",
        "install Terraform (developer.hashicorp.com/terraform/install) and put it on PATH",
    ),
    Tool(
        "ansible-playbook",
        (2, 16),
        f"{ANSIBLE_CORE_TESTED} (ansible-core)",
        "up: configure the nodes and K3s; validate --deep: --syntax-check the playbooks",
        f"pip install '{DEEP_EXTRA}' (the `ansible` package: ansible-core and the collections the "
        f"playbooks use), or pip install 'ansible-core=={ANSIBLE_CORE_TESTED}' and the collections",
        for_deep=True,
    ),
    Tool(
        "helm",
        HELM_MIN_VERSION,
        "4.1.4",
        "validate --deep: render every chart",
        f"install Helm >= {'.'.join(map(str, HELM_MIN_VERSION))} (helm.sh/docs/intro/install), on PATH",
        for_up=False,
        for_deep=True,
    ),
    Tool(
        "kubectl",
        (0,),
        "1.35.2",
        "looking at the cluster by hand (homelab itself talks to the API directly)",
        "install kubectl matching the K3s version (kubernetes.io/docs/tasks/tools)",
        required=False,
        for_up=False,
    ),
    Tool("ssh", (0,), "OpenSSH 9.2", "up: Ansible reaches the nodes over SSH", "apt install openssh-client"),
    Tool("git", (0,), "2.39", "up: check the GitOps remote ArgoCD pulls", "apt install git"),
)

ANSIBLE_COLLECTIONS: tuple[Collection, ...] = (
    Collection("ansible.posix", "2.1.0"),
    Collection("community.general", "11.4.2"),
)
"""What ansible/ (site.yml, upgrade.yml, reset.yml) needs: the versions the `ansible` 12.3 package bundles."""

PROXMOX_COLLECTIONS: tuple[Collection, ...] = (Collection("community.general", "11.4.2"),)
"""network/proxmox/playbook.yml (the VLAN-aware bridge role)."""

PFSENSE_COLLECTIONS: tuple[Collection, ...] = (Collection("pfsensible.core", "0.7.1", tested=False),)
"""network/pfsense/playbook.yml. Not on PyPI nor in the `ansible` package: pinned, never run here
(its modules' effect on config.xml is modelled from their source in the test suite)."""

PFSENSE_RESOLVER_MIN: Version = (0, 7, 1)
"""The oldest pfsensible.core the DNS resolver task is written for: 0.7.1 writes a domain override
without DNS-over-TLS (0.6.x gives every one an empty `forward_tls_upstream`, which pfSense reads as
on: pfsensible/core#209), switches a boolean off when told to, and takes interface names as pfSense
stores them (0.6.x appends `lo0` to any interface list)."""

COLLECTION_PINS: dict[str, str] = {
    c.name: c.version for c in (*ANSIBLE_COLLECTIONS, *PROXMOX_COLLECTIONS, *PFSENSE_COLLECTIONS)
}
"""Every collection a rendered playbook installs -> its tested pin (`ansible.collections` defaults)."""

KUBE_VIP_VERSION = "v1.0.1"
"""kube-vip image pinned for the API VIP static pod (`cluster.kube_vip_version` defaults to it)."""

BPG_PROVIDER_VERSION = "0.111.1"
"""The bpg/proxmox Terraform provider release tested (`proxmox.provider_version` defaults to it; the
blueprint's versions.tf carries the same number, which a test keeps equal)."""

PROXMOX_VE_MIN: Version = (8, 0)
"""The Proxmox VE releases the pinned bpg/proxmox provider supports (8.x and 9.x); older: a warning."""


def tool(name: str) -> Tool:
    """The requirement named `name`."""
    for entry in TOOLS:
        if entry.name == name:
            return entry
    raise KeyError(name)


def pinned(collection: Collection, chosen: Mapping[str, str] | None = None) -> str:
    """The version `chosen` (homelab.yaml's `ansible.collections`) names for `collection`, else its
    tested pin."""
    return (chosen or {}).get(collection.name, collection.version)


def requirements(
    collections: tuple[Collection, ...], chosen: Mapping[str, str] | None = None
) -> dict[str, object]:
    """An ansible-galaxy requirements.yml document pinning `collections` exactly, each at the
    version `chosen` names for it (homelab.yaml's `ansible.collections`), else its tested pin."""
    return {"collections": [{"name": c.name, "version": pinned(c, chosen)} for c in collections]}


# ----------------------------------------------------------------------------- the rendered CI


@dataclass(frozen=True)
class ActionPin:
    """A GitHub Action the rendered workflows use: its repository, the release tag tested and the
    commit that tag points at. Workflows name the commit (a tag can be moved; a commit cannot) and
    keep the tag beside it for people and Renovate (`uses: owner/repo@<commit> # <tag>`)."""

    repo: str
    version: str
    commit: str

    @property
    def ref(self) -> str:
        """`<tag>@<commit>`, as `ci.actions` in homelab.yaml writes it."""
        return f"{self.version}@{self.commit}"

    @classmethod
    def parse(cls, repo: str, ref: str) -> ActionPin:
        """From `ci.actions`' `<tag>@<commit>` (the schema has checked its shape)."""
        version, commit = ref.split("@", 1)
        return cls(repo, version, commit)


ACTIONS: tuple[ActionPin, ...] = (
    ActionPin("actions/checkout", "v4.4.0", "11d5960a326750d5838078e36cf38b85af677262"),
    ActionPin("actions/setup-python", "v5.6.0", "a26af69be951a213d495a4c3e4e4022e16d87065"),
    ActionPin("actions/cache", "v4.3.0", "0057852bfaa89a56745cba8c7296529d2fc39830"),
)
"""The newest releases that still declare `runs.using: node20`: Forgejo and Gitea runners (act
forks) run a JavaScript action with the `node` of the job's container, and older ones refuse
`node24`; GitHub runs them on its own Node. Commits read from each repository's tags."""

ACTION_PINS: dict[str, ActionPin] = {a.repo: a for a in ACTIONS}
"""`owner/repo` -> its tested pin (`ci.actions` in homelab.yaml defaults to these)."""

CI_PYTHON = "3.11"
"""The Python the rendered CI runs homelabeazy on: Debian 12's, the oldest homelabeazy supports,
and the one the shipped CI lock's wheels are chosen for."""

HELM_ARCHIVES: dict[str, str] = {
    "amd64": "70b2c30a19da4db264dfd68c8a3664e05093a361cefd89572ffb36f8abfa3d09",
    "arm64": "13d03672be289045d2ff00e4e345d61de1c6f21c1257a45955a30e8ae036d8f1",
}
"""SHA-256 of `helm-v<tested>-linux-<arch>.tar.gz` as Helm's release notes publish them: the
rendered CI checks the download against these, not against a checksum fetched from the same place."""

PACKAGE = "homelabeazy"


@cache
def package_digest() -> str:
    """SHA-256 over this homelabeazy's own files: one line `<sha256 of file>  <path>` per file under
    the package folder (bytecode caches left out), sorted by path, hashed together.

    Whatever way a homelabeazy arrives (a wheel from PyPI, a release asset, a build of the git tag),
    its installed files are the wheel's files byte for byte, so this names the exact build that
    rendered a repository. The rendered CI recomputes it after installing and before running
    anything of it. Reads only the package's own files, like `terraform_min_version`.
    """
    root = Path(__file__).resolve().parent
    lines = []
    for path in root.rglob("*"):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        rel = path.relative_to(root.parent).as_posix()
        lines.append((rel, f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {rel}\n"))
    return hashlib.sha256("".join(line for _, line in sorted(lines)).encode("utf-8")).hexdigest()
