"""Network segmentation as code: zones, the ordered rules, the checker and the compilers.

Pure: the policy is built from the config (or the model), compiled into a decision table that
answers `net check`, finds shadowed rules and fills the matrix, and compiled to pfSense, nftables
and Proxmox bridge configuration by the modules beside this one.
"""

from homelabeazy.netpolicy.decide import (
    DEFAULT_DENY,
    INTRA_ZONE,
    DecisionTable,
    Endpoint,
    Verdict,
    compile_policy,
)
from homelabeazy.netpolicy.endpoints import UnknownEndpointError, model_host_addresses, resolve_endpoint
from homelabeazy.netpolicy.policy import (
    ANY,
    INTERNET,
    Policy,
    PolicyError,
    Rule,
    build_policy,
    policy_for_homelab,
    policy_from_network,
)
from homelabeazy.netpolicy.ports import PortSet
from homelabeazy.netpolicy.reach import Reach, reach
from homelabeazy.netpolicy.shadowing import Shadowed, shadowed_rules

__all__ = [
    "ANY",
    "DEFAULT_DENY",
    "INTERNET",
    "INTRA_ZONE",
    "DecisionTable",
    "Endpoint",
    "Policy",
    "PolicyError",
    "PortSet",
    "Reach",
    "Rule",
    "Shadowed",
    "UnknownEndpointError",
    "Verdict",
    "build_policy",
    "compile_policy",
    "model_host_addresses",
    "policy_for_homelab",
    "policy_from_network",
    "reach",
    "resolve_endpoint",
    "shadowed_rules",
]
