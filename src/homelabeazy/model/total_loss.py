"""The order to bring a homelab back after losing everything: written once, here.

The rendered `docs/RUNBOOK.md` shows these steps (those of the services this homelab runs), and the
project's README and its disaster-recovery guide are checked against them by tests/docs, so the three
cannot drift apart again (they did: the runbook restored etcd before Vault and never named the
restore commands). Vault and LDAP come first because everything else authenticates against them:
External Secrets pulls every credential, Velero's bucket keys included, from Vault, and Authelia's
users live in LDAP; cluster state and volumes come after.
"""

from __future__ import annotations

from dataclasses import dataclass

from homelabeazy.model.homelab import Homelab


@dataclass(frozen=True)
class RecoveryStep:
    """One step of the total-loss restore: what it brings back and the commands, in order."""

    title: str
    """The step's heading in the disaster-recovery guide (docs/guides/disaster-recovery.md)."""
    commands: tuple[str, ...]
    """The commands to run, in order; empty for the etcd restore, whose commands depend on the
    servers (the runbook's "Restoring etcd" section has them)."""
    note: str
    """What the step restores, and when it is needed."""
    needs: str | None = None
    """The service the step restores; the runbook leaves the step out when it is switched off."""


TOTAL_LOSS: tuple[RecoveryStep, ...] = (
    RecoveryStep(
        "The bootstrap file, from its age backup",
        ("homelab secrets restore-bootstrap --from vault-bootstrap.age --identity KEY",),
        "the original unseal keys and root token, decrypted in memory into their 0600 home",
        needs="vault",
    ),
    RecoveryStep(
        "A cluster to restore into",
        tuple(
            f"homelab up --only {stage} --yes" for stage in ("provision", "wait", "configure", "bootstrap")
        ),
        "VMs, K3s and ArgoCD again, one stage at a time (Vault and OpenLDAP come up empty)",
    ),
    RecoveryStep(
        "Vault: raft restore, then unseal",
        (
            "homelab secrets init --bootstrap-file FRESH",
            "homelab secrets restore --latest --bootstrap-file FRESH",
            "homelab secrets unseal",
        ),
        "a throw-away init (same key shares and threshold), the newest snapshot, then the ORIGINAL "
        "keys unseal it: every secret and every version back",
        needs="vault",
    ),
    RecoveryStep(
        "LDAP: import the export",
        ("homelab users import --latest",),
        "every person, group and password hash; old passwords bind again",
        needs="openldap",
    ),
    RecoveryStep(
        "Cluster state: the etcd snapshot",
        (),
        "only for objects that are not in Git (everything the repository renders, ArgoCD re-creates "
        "by itself)",
    ),
    RecoveryStep(
        "Volumes: Velero",
        ("homelab backup list", "homelab backup restore NAME"),
        "volume contents, through Velero, once External Secrets has given it its bucket keys again",
        needs="velero",
    ),
    RecoveryStep(
        "Check",
        ("homelab status", "homelab dr drill"),
        "every layer's health and the age of every backup; the drill compares the restored systems "
        "with the newest backups",
    ),
)
"""Every step, in order: the README and the guide list all of them."""


def total_loss_steps(homelab: Homelab) -> list[RecoveryStep]:
    """The steps this homelab needs: those of services it does not run are left out."""
    return [step for step in TOTAL_LOSS if step.needs is None or homelab.enabled(step.needs)]
