"""Known health traps: each enabled service's own checks, run on the desired cluster state.

The knowledge lives in the service's catalog module (`ServiceEntry.health_checks`), next to what
causes the trap (ES replicas beside the node count, LDAP replication beside the replica count);
this module only runs those of the services this homelab enables, in catalog order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from homelabeazy.desired.state import DesiredState, Finding

if TYPE_CHECKING:
    from homelabeazy.model import Homelab


def check_health(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """Every finding of every enabled service's health checks."""
    return [
        finding for entry in homelab.services for check in entry.health_checks for finding in check(state)
    ]
