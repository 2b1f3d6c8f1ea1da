"""How many guest configs `homelab import` reads at once, and where its token comes from: a leaf module.

Kept apart from `lifecycle.importer` (which loads the guest parsers) so the CLI can show these as
option defaults and bounds without importing discovery: `homelab --help` stays fast.
"""

DEFAULT_CONCURRENCY = 16
"""Workers reading guest configs at once when the user does not say."""
MAX_CONCURRENCY = 64
"""Never more connections than this against one pveproxy."""
DEFAULT_TOKEN_ENV = "PROXMOX_VE_API_TOKEN"  # noqa: S105 - the variable's name, not a secret
"""The environment variable holding the Proxmox API token (the one the bpg provider reads too)."""
