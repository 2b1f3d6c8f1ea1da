"""ArgoCD's read access to a private Git repository (`gitops.private`).

ArgoCD clones the repository from inside the cluster with credentials of its own, never the
user's. For an ssh URL they are an ed25519 deploy key that `homelab up` creates once; for an
https URL, an access token from the environment. Where each part lives:

- the private key: `<state>/argocd-deploy-key` (0600, the state folder outside the repo, next to
  the kubeconfig and the K3s token), created with O_EXCL so a re-run reuses it and nothing ever
  rotates it silently; the secrets stage then stores a copy in Vault (`argocd/repository`);
- the public key: `<state>/argocd-deploy-key.pub`, printed (it is public) with the page where
  it is added as a read-only deploy key, every time preflight finds the remote refusing it;
- ArgoCD's repository Secret: built here in memory and applied by the bootstrap stage through
  the Kubernetes API, never rendered into the repository.

Preflight proves, before anything is provisioned, that exactly these credentials read the
configured revision (`git ls-remote`, isolated from the user's own git and ssh setup).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from homelabeazy.atomic_file import create_new, write_atomic
from homelabeazy.config.schema import GitopsConfig
from homelabeazy.errors import ExternalSystemError, UsageError
from homelabeazy.lifecycle.stages import StageContext
from homelabeazy.model import Homelab
from homelabeazy.model.repo_credentials import (
    ARGOCD_KNOWN_SSH_HOSTS,
    KEY_FILE,
    KNOWN_HOSTS_FILE,
    SECRET_NAME,
    SECRET_NAMESPACE,
    known_hosts_name,
    url_kind,
)
from homelabeazy.ops import tools


def _host_and_path(url: str) -> tuple[str, str]:
    """(`github.com`, `owner/repo`) from any of the three URL shapes, `.git` dropped."""
    if "://" in url:
        rest = url.split("://", 1)[1]
        authority, _, path = rest.partition("/")
        host = authority.rpartition("@")[2].split(":")[0]
    else:  # scp-like user@host:path
        authority, _, path = url.partition(":")
        host = authority.rpartition("@")[2]
    return host.lower(), re.sub(r"\.git$", "", path.strip("/"))


def deploy_key_page(url: str) -> str:
    """Where the public key is added as a read-only deploy key, for the forges we can name."""
    host, path = _host_and_path(url)
    if host == "github.com":
        return (
            f"https://github.com/{path}/settings/keys "
            "(Add deploy key, read-only: leave 'Allow write access' off)"
        )
    if host == "gitlab.com":
        return f"https://gitlab.com/{path}/-/settings/repository (Deploy keys, read-only: no write access)"
    if host == "bitbucket.org":
        return f"https://bitbucket.org/{path}/admin/access-keys/ (Access keys, read-only)"
    return (
        f"the deploy keys of {host}/{path} (Gitea/Forgejo: https://{host}/{path}/settings/keys; "
        f"GitLab: https://{host}/{path}/-/settings/repository), read-only"
    )


# ---------------------------------------------------------------------------- the deploy key


@dataclass(frozen=True)
class DeployKey:
    """The deploy key on disk: the private half's path, the public line and its fingerprint."""

    private_path: Path
    public: str
    created: bool = False

    @property
    def fingerprint(self) -> str:
        """`SHA256:…` as `ssh-keygen -l` prints it (what the forge's UI shows)."""
        blob = base64.b64decode(self.public.split()[1])
        return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")

    def private_text(self) -> str:
        """The OpenSSH private key (for the repository Secret and Vault; never printed)."""
        return self.private_path.read_text(encoding="ascii")


def _public_line(private: Ed25519PrivateKey, comment: str) -> str:
    public = private.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return f"{public.decode('ascii')} {comment}"


def load_deploy_key(state: Path, comment: str) -> DeployKey | None:
    """The existing key, or None. The public line is derived from the private key, the truth."""
    path = state / KEY_FILE
    if not path.exists():
        return None
    try:
        private = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, OSError) as exc:
        raise UsageError(
            f"{path} is not an unencrypted OpenSSH private key ({type(exc).__name__}); "
            "move it away and run `homelab up` again to create a new deploy key"
        ) from None
    if not isinstance(private, Ed25519PrivateKey):
        raise UsageError(f"{path} is not an ed25519 key; move it away to create a new deploy key")
    public = _public_line(private, comment)
    public_file = state / f"{KEY_FILE}.pub"
    if not public_file.exists() or public_file.read_text(encoding="ascii").strip() != public:
        write_atomic(public_file, (public + "\n").encode("ascii"), "the deploy key's public half", mode=0o644)
    return DeployKey(path, public)


def ensure_deploy_key(state: Path, comment: str) -> DeployKey:
    """The deploy key, created on first use; an existing one is always reused, never replaced."""
    found = load_deploy_key(state, comment)
    if found is not None:
        return found
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    path = state / KEY_FILE
    try:  # exclusive: a concurrent run that got there first wins, and its key is the one kept
        create_new(path, pem, "the deploy key")
    except FileExistsError:
        return ensure_deploy_key(state, comment)
    public = _public_line(private, comment)
    write_atomic(
        state / f"{KEY_FILE}.pub", (public + "\n").encode("ascii"), "the deploy key's public half", mode=0o644
    )
    return DeployKey(path, public, created=True)


# ---------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class RepoCredentials:
    """What ArgoCD reads the repository with; repr and str never show the key or the token."""

    url: str
    key: DeployKey | None = None
    username: str = ""
    token: str = field(default="", repr=False)

    def secret_data(self) -> dict[str, str]:
        """The keys of ArgoCD's repository Secret (and of the Vault copy)."""
        data = {"type": "git", "url": self.url}
        if self.key is not None:
            data["sshPrivateKey"] = self.key.private_text()
        else:
            data |= {"username": self.username, "password": self.token}
        return data

    def describe(self, token_env: str) -> str:
        """Safe to print: the key's fingerprint or the token's variable name."""
        if self.key is not None:
            return f"deploy key {self.key.fingerprint}"
        return f"the token in ${token_env}"


def comment_for(homelab: Homelab) -> str:
    """The deploy key's comment: which homelab and what for (shown in the forge's key list)."""
    return f"argocd@{homelab.name}"


def credentials(
    gitops: GitopsConfig, state: Path, comment: str, environ: Mapping[str, str], *, create: bool
) -> RepoCredentials | None:
    """ArgoCD's credentials for the repository: None when it is public.

    `create` makes the deploy key when missing (preflight); bootstrap only reads it, so it never
    applies a key that preflight has not proved against the remote.
    """
    if not gitops.private:
        return None
    if url_kind(gitops.repo_url) == "https":
        token = environ.get(gitops.token_env, "")
        if not token:
            raise UsageError(
                f"gitops.private is set and {gitops.repo_url} is an https URL: export "
                f"{gitops.token_env} with a read-only access token for it"
            )
        return RepoCredentials(gitops.repo_url, username=gitops.token_username, token=token)
    key = ensure_deploy_key(state, comment) if create else load_deploy_key(state, comment)
    if key is None:
        raise ExternalSystemError(
            "git",
            "reading ArgoCD's deploy key",
            f"there is no deploy key at {state / KEY_FILE}",
            "run `homelab up` (its preflight creates the key and checks it against the remote)",
        )
    return RepoCredentials(gitops.repo_url, key=key)


def repository_secret(creds: RepoCredentials) -> dict[str, Any]:
    """ArgoCD's repository Secret (declarative repositories: found by its label)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": SECRET_NAME,
            "namespace": SECRET_NAMESPACE,
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode("ascii") for k, v in creds.secret_data().items()},
    }


# ---------------------------------------------------------------------------- the stage hooks


def default_known_hosts(state: Path) -> tuple[Path, ...]:
    """Our own known-hosts file first (new hosts are recorded there), then the user's."""
    return (state / KNOWN_HOSTS_FILE, Path.home() / ".ssh" / "known_hosts")


@dataclass
class ArgocdRemoteCheck:
    """Preflight: ArgoCD's own credentials (not the user's) read the revision on the remote."""

    state: Callable[[Homelab], Path]
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    known_hosts: Callable[[Path], tuple[Path, ...]] = default_known_hosts
    ls_remote: Callable[..., str] = tools.git_ls_remote

    def __call__(self, ctx: StageContext) -> str:
        """Check; the failure for a refused deploy key carries the public key and where it goes."""
        gitops = ctx.homelab.config.gitops
        state = self.state(ctx.homelab)
        creds = credentials(gitops, state, comment_for(ctx.homelab), self.environ, create=True)
        assert creds is not None  # only called for private repositories
        if creds.key is not None:
            state.mkdir(parents=True, exist_ok=True, mode=0o700)
            env = tools.ssh_key_env(creds.key.private_path, self.known_hosts(state))
            fix = (
                f"add ArgoCD's public key as a read-only deploy key at {deploy_key_page(gitops.repo_url)}:\n"
                f"    {creds.key.public}\n  then run `homelab up` again"
            )
        else:
            env = tools.token_env(creds.username, creds.token)
            fix = f"check that ${gitops.token_env} holds a token that can read {gitops.repo_url}"
        what = creds.describe(gitops.token_env)
        try:
            self.ls_remote(gitops.repo_url, gitops.revision, env=env, fix=fix)
        except ExternalSystemError as exc:
            answer = exc.answer
            if creds.key is None and "could not read Username" in answer:
                # git asks for a user name once the server has refused the token.
                answer = "the remote refused the token (it asked for a user name and password)"
            raise ExternalSystemError(
                "git", f"ls-remote {gitops.repo_url} as ArgoCD ({what})", answer, exc.fix
            ) from None
        summary = f"ArgoCD's {what} reads {gitops.revision}"
        host = known_hosts_name(gitops.repo_url)
        if creds.key is not None and host not in ARGOCD_KNOWN_SSH_HOSTS:
            summary += (
                f"; note: ArgoCD trusts no host key for {host} out of the box and will refuse it until "
                f"its line from {state / KNOWN_HOSTS_FILE} is in ArgoCD's known hosts "
                "(argocd-ssh-known-hosts-cm)"
            )
        return summary


@dataclass
class RepositorySecret:
    """Bootstrap: ArgoCD's repository Secret for a private repository, None for a public one."""

    state: Callable[[Homelab], Path]
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def __call__(self, homelab: Homelab) -> dict[str, Any] | None:
        """The manifest (built in memory, applied through the API, never written to disk)."""
        gitops = homelab.config.gitops
        creds = credentials(gitops, self.state(homelab), comment_for(homelab), self.environ, create=False)
        return None if creds is None else repository_secret(creds)

    def vault_data(self, homelab: Homelab) -> dict[str, str] | None:
        """What the secrets stage keeps in Vault at repo_credentials.VAULT_PATH (None: nothing to keep)."""
        gitops = homelab.config.gitops
        try:
            creds = credentials(gitops, self.state(homelab), comment_for(homelab), self.environ, create=False)
        except (ExternalSystemError, UsageError):
            return None  # nothing made here (yet): bootstrap has already said so
        return None if creds is None else creds.secret_data()
