"""`gitops:` the Git repository ArgoCD syncs from."""

from __future__ import annotations

from typing import Annotated

from homelabeazy.config.schema.fields import EnvName, RepoPath, Section, pattern, url


class GitopsConfig(Section):
    """Where ArgoCD reads this repository from."""

    repo_url: Annotated[
        str,
        url(
            "https",
            "ssh",
            scp=True,
            secrets_go="for a private repository set `private: true`; the token goes in the environment "
            "variable named by `token_env`, an SSH deploy key is created by `homelab up`",
        ),
    ]
    """Git URL of the repository `homelab render` writes into."""
    revision: Annotated[
        str,
        pattern(
            r"^[A-Za-z0-9_][A-Za-z0-9._/+-]{0,199}$",
            "must be a branch, tag or commit: letters, digits, '.', '_', '/', '+' and '-'",
        ),
    ] = "main"
    """Branch, tag or commit ArgoCD follows."""
    path: RepoPath = "kubernetes"
    """Folder in the repository holding the Kubernetes tree."""
    private: bool = False
    """The repository needs credentials to be read (most homelab repositories do: they hold
    addresses and topology). `homelab up` then gives ArgoCD read-only credentials of its own and
    checks them before bootstrap. For an `ssh://` or `git@host:path` URL it creates an ed25519
    deploy key once (the private half stays in the 0600 state folder outside the repository, then
    in Vault; the public half is printed, to be added as a read-only deploy key); for an
    `https://` URL it uses the access token in the environment variable `token_env`. Neither is
    ever written into the repository. Leave false for a public repository: no credentials."""
    token_env: EnvName = "HOMELAB_GIT_TOKEN"  # noqa: S105 - the variable's name, not a secret
    """`https://` private repositories only: the environment variable holding a read-only access
    token (a GitHub fine-grained token with Contents: read, a GitLab deploy token, ...)."""
    token_username: Annotated[
        str,
        pattern(
            r"^[A-Za-z0-9._@+-]{1,100}$", "must be a user name: letters, digits, '.', '_', '@', '+' and '-'"
        ),
    ] = "git"  # noqa: S105 - a user name, not a secret
    """`https://` private repositories only: the user name sent with the token (a GitLab deploy
    token has its own; GitHub and Gitea accept any non-empty name)."""
