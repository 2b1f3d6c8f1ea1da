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
