"""Semantic checks about the first day of operation: can the tools reach what they configure,
can users enrol.
"""

from __future__ import annotations

from collections.abc import Iterator

from homelabeazy.checks.base import Finding, check
from homelabeazy.config.schema import HomelabConfig


@check("pfsense-reachable-before-play")
def pfsense_address_exists_before_the_play(config: HomelabConfig) -> Iterator[Finding]:
    """pfSense's Ansible address should not be a VLAN gateway: the pfSense playbook creates those."""
    pfsense = config.network.pfsense
    if pfsense is None:
        return
    for vlan in config.network.vlans:
        if vlan.gateway == pfsense.address:
            yield Finding(
                ("network", "pfsense", "address"),
                f"{pfsense.address} is the gateway of VLAN {vlan.id} ({vlan.name}), an interface the "
                "network/pfsense playbook creates: on a fresh pfSense nothing answers there yet",
                "give the address pfSense answers on today (its LAN), unless that VLAN interface "
                "already exists",
                "warning",
            )


@check("authelia-codes-to-a-file")
def authelia_notifier_reaches_users(config: HomelabConfig) -> Iterator[Finding]:
    """Without `services.authelia.smtp`, 2FA registration and password reset codes go to a file in the pod."""
    authelia = config.services.authelia
    if not authelia.enabled or authelia.smtp is not None:
        return
    yield Finding(
        ("services", "authelia"),
        "two-factor registration and password reset are on, but with no services.authelia.smtp their "
        "codes are written to /config/notification.txt inside the Authelia pod, not sent to the user",
        "set services.authelia.smtp: host, sender and username, with the password in Vault at "
        "authelia/smtp; or have an admin read the codes with kubectl exec",
        "warning",
    )
