"""Names of ArgoCD's credentials for a private repository (`gitops.private`), read everywhere.

lifecycle/repo_access.py makes, checks, applies and stores the credentials under these names;
the generated README tells the user the same names. Pure data: no I/O here.
"""

from __future__ import annotations

from typing import Literal

SECRET_NAME = "homelab-repository"  # noqa: S105 - an object's name, not a secret
"""ArgoCD's repository Secret (label argocd.argoproj.io/secret-type: repository)."""
SECRET_NAMESPACE = "argocd"  # noqa: S105 - a namespace, not a secret
VAULT_PATH = "argocd/repository"
"""Where the secrets stage keeps a copy (under the homelab's KV mount)."""
KEY_FILE = "argocd-deploy-key"
"""The private half of the deploy key, in the state folder (`.pub` beside it)."""
KNOWN_HOSTS_FILE = "git-known-hosts"
"""Host keys of the Git server recorded on first contact, in the state folder."""

UrlKind = Literal["ssh", "https"]


def url_kind(url: str) -> UrlKind:
    """`ssh` for `ssh://…` and `user@host:path`, `https` for `https://…` (the schema allows no other)."""
    return "https" if url.startswith("https://") else "ssh"


ARGOCD_KNOWN_SSH_HOSTS = frozenset(
    {
        "bitbucket.org",
        "github.com",
        "[ssh.github.com]:443",
        "gitlab.com",
        "ssh.dev.azure.com",
        "vs-ssh.visualstudio.com",
    }
)
"""Hosts whose SSH host keys ArgoCD trusts out of the box: the default `configs.ssh.knownHosts`
of the pinned argo-cd chart (9.1.4; a test compares with the chart). ArgoCD refuses any other."""


def known_hosts_name(url: str) -> str:
    """The ssh remote's name as known_hosts writes it: `host`, or `[host]:port` off port 22."""
    if "://" in url:
        authority = url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2]
        host, _, port = authority.partition(":")
    else:  # scp-like user@host:path
        host, port = url.partition(":")[0].rpartition("@")[2], ""
    host = host.lower()
    return f"[{host}]:{port}" if port and port != "22" else host
