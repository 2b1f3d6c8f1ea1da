"""`homelab validate --deep` for network/: the router ruleset must parse with the real `nft`."""

from __future__ import annotations

from pathlib import Path

from homelabeazy.errors import ExternalSystemError
from homelabeazy.ops.nftables import check_ruleset, nft_available

NFT_PATH = "network/nftables/homelab.nft"


def validate_nftables(files: dict[str, str], schemas: Path | None) -> list[str]:  # noqa: ARG001
    """Problems `nft -c` finds in the rendered ruleset (checked in a private namespace)."""
    if NFT_PATH not in files or not nft_available():
        return []  # nothing rendered, or no nft on this machine: the test suite covers it where nft exists
    try:
        return check_ruleset(files[NFT_PATH], NFT_PATH)
    except ExternalSystemError as exc:
        return [str(exc)]
