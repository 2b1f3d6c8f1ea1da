"""The model of pfsensible.core's `pfsense_dns_resolver` (tags 0.7.1 and 0.6.0), from its source.

Argument normalisation as ansible-core's AnsibleModule does it, then the module's own
`_params_to_obj`, `_validate_params` and its run over the `<unbound>` element (tests/support/pfsensible.py
holds the shared `copy_dict_to_element`). Read tests/support/pfsensible.py first.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from copy import deepcopy
from typing import Any
from xml.etree import ElementTree as ET

from tests.support.pfsensible import (
    ModuleFailed,
    Version,
    copy_dict_to_element,
    get_param,
    get_param_bool,
    new_element,
)

# --------------------------------------------------------------------------- argument normalisation
# ansible-core's AnsibleModule (module_utils/common/parameters.py): a missing option takes its
# default (None when it has none), values are converted to the option's type, `choices` are checked;
# list-of-dict suboptions are normalised the same way, in place (a missing key is appended).

_BOOL_TRUE = {"1", "true", "yes", "on", "y", "t"}
_BOOL_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def _spec(version: Version) -> dict[str, dict[str, Any]]:
    """DNS_RESOLVER_ARGUMENT_SPEC: plugins/modules/pfsense_dns_resolver.py (0.7.1 lines 309-383,
    0.6.0 lines 304-378); the 0.7.1 changes are `dnssec` default True and the domain override's
    `forward_tls_upstream` a bool (default False) instead of a str (default '')."""
    alias = {"host": {"type": "str"}, "domain": {"type": "str"}, "description": {"type": "str"}}
    host = {
        "host": {"type": "str"},
        "domain": {"type": "str"},
        "ip": {"type": "str"},
        "descr": {"type": "str", "default": ""},
        "aliases": {"type": "list", "elements": "dict", "default": [], "options": alias},
    }
    tls = {"type": "bool", "default": False} if version == "0.7.1" else {"type": "str", "default": ""}
    domain = {
        "domain": {"type": "str"},
        "ip": {"type": "str"},
        "descr": {"type": "str"},
        "tls_hostname": {"type": "str", "default": ""},
        "forward_tls_upstream": tls,
    }
    return {
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "port": {"type": "int"},
        "enablessl": {"type": "bool", "default": False},
        "sslcert": {"type": "str", "default": ""},
        "tlsport": {"type": "int"},
        "active_interface": {"type": "list", "elements": "str", "default": ["all"]},
        "outgoing_interface": {"type": "list", "elements": "str", "default": ["all"]},
        "system_domain_local_zone_type": {
            "type": "str",
            "default": "transparent",
            "choices": [
                "deny",
                "refuse",
                "static",
                "transparent",
                "typetransparent",
                "redirect",
                "inform",
                "inform_deny",
                "nodefault",
            ],
        },
        "dnssec": {"type": "bool", "default": version == "0.7.1"},
        "forwarding": {"type": "bool", "default": False},
        "forward_tls_upstream": {"type": "bool", "default": False},
        "regdhcp": {"type": "bool", "default": False},
        "regdhcpstatic": {"type": "bool", "default": False},
        "regovpnclients": {"type": "bool", "default": False},
        "custom_options": {"type": "str", "default": ""},
        "hosts": {"type": "list", "elements": "dict", "default": [], "options": host},
        "domainoverrides": {"type": "list", "elements": "dict", "options": domain},
        "hideidentity": {"type": "bool", "default": True},
        "hideversion": {"type": "bool", "default": True},
        "prefetch": {"type": "bool", "default": False},
        "prefetchkey": {"type": "bool", "default": False},
        "dnssecstripped": {"type": "bool", "default": True},
        "msgcachesize": {"type": "int", "default": 4, "choices": [4, 10, 20, 50, 100, 250, 512]},
        "outgoing_num_tcp": {"type": "int", "default": 10, "choices": [0, 10, 20, 30, 50]},
        "incoming_num_tcp": {"type": "int", "default": 10, "choices": [0, 10, 20, 30, 50]},
        "edns_buffer_size": {
            "type": "str",
            "default": "auto",
            "choices": ["auto", "512", "1220", "1232", "1432", "1480", "4096"],
        },
        "num_queries_per_thread": {"type": "int", "default": 512, "choices": [512, 1024, 2048]},
        "jostle_timeout": {"type": "int", "default": 200, "choices": [100, 200, 500, 1000]},
        "cache_max_ttl": {"type": "int", "default": 86400},
        "cache_min_ttl": {"type": "int", "default": 0},
        "infra_host_ttl": {"type": "int", "default": 900, "choices": [60, 120, 300, 600, 900]},
        "infra_cache_numhosts": {
            "type": "int",
            "default": 10000,
            "choices": [1000, 5000, 10000, 20000, 50000, 100000, 200000],
        },
        "unwanted_reply_threshold": {
            "type": "str",
            "default": "disabled",
            "choices": ["disabled", "5000000", "10000000", "20000000", "40000000", "50000000"],
        },
        "log_verbosity": {"type": "int", "default": 1, "choices": [0, 1, 2, 3, 4, 5]},
    }


def _convert(name: str, value: Any, option: Mapping[str, Any]) -> Any:
    kind = option["type"]
    if value is None:
        return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _BOOL_TRUE:
            return True
        if text in _BOOL_FALSE:
            return False
        raise ModuleFailed(
            f"argument '{name}' is of type {type(value).__name__} and we were unable to convert to bool"
        )
    if kind == "int":
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value).strip()):
            raise ModuleFailed(
                f"argument '{name}' is of type {type(value).__name__} and we were unable to convert to int"
            )
        return int(str(value).strip())
    if kind == "str":
        return value if isinstance(value, str) else str(value)
    if kind == "list":
        items = value if isinstance(value, list) else str(value).split(",")
        if option.get("elements") == "dict":
            return [_normalise(dict(item), option["options"], f"{name}.") for item in items]
        return [str(item) for item in items]
    raise AssertionError(kind)


def _normalise(
    params: dict[str, Any], spec: Mapping[str, Mapping[str, Any]], prefix: str = ""
) -> dict[str, Any]:
    unknown = set(params) - set(spec)
    if unknown:
        raise ModuleFailed(
            f"Unsupported parameters for ({prefix or 'pfsense_dns_resolver'}) module: {sorted(unknown)}"
        )
    for name, option in spec.items():
        if name not in params:
            params[name] = deepcopy(option.get("default"))
        params[name] = _convert(prefix + name, params[name], option)
        choices = option.get("choices")
        if choices is not None and params[name] is not None and params[name] not in choices:
            raise ModuleFailed(f"value of {prefix}{name} must be one of: {choices}, got: {params[name]}")
    return params


def normalise_resolver_args(args: Mapping[str, Any], version: Version = "0.7.1") -> dict[str, Any]:
    """The module's `params`: the task's arguments with defaults filled in and types converted."""
    return _normalise(deepcopy(dict(args)), _spec(version))


# --------------------------------------------------------------------------- pfsense_dns_resolver


def listen_interfaces(root: ET.Element) -> dict[str, str]:
    """What pfSense's get_possible_listen_ips() offers the 0.7.1 module (pfsense_dns_resolver.py 0.7.1
    lines 410-414): each configured interface by name with its description, and lo0 as Localhost."""
    interfaces = root.find("interfaces")
    elements = list(interfaces) if interfaces is not None else []
    names = {element.tag: (element.findtext("descr") or element.tag.upper()) for element in elements}
    return {**names, "lo0": "Localhost"}


def _interface_name(root: ET.Element, given: str, version: Version) -> str:
    """0.7.1 `_get_interface_name` (lines 416-427): `all`, an interface name or its description;
    0.6.0 `get_interface_by_display_name` (lines 406-410): `all` or a description only."""
    if given.lower() == "all":
        return "all"
    for name, descr in listen_interfaces(root).items():
        if version == "0.7.1" and given.lower() in (name.lower(), descr.lower()):
            return name
        if version == "0.6.0" and given.lower() == descr.lower() and name != "lo0":
            return name
    if version == "0.7.1":
        raise ModuleFailed(f"Invalid interface '{given}'")
    raise ModuleFailed(f"if_descr, {given}, is not exist")


def resolver_obj(params: Mapping[str, Any], root: ET.Element, version: Version = "0.7.1") -> dict[str, Any]:
    """`_params_to_obj` for state present (0.7.1 lines 429-491, 0.6.0 lines 412-470)."""
    params = deepcopy(dict(params))
    obj: dict[str, Any] = {"enable": ""}
    obj["active_interface"] = ",".join(_interface_name(root, x, version) for x in params["active_interface"])
    obj["outgoing_interface"] = ",".join(
        _interface_name(root, x, version) for x in params["outgoing_interface"]
    )
    obj["custom_options"] = base64.b64encode(params["custom_options"].encode("utf-8")).decode()
    for name in ("hideidentity", "hideversion", "dnssecstripped"):
        get_param_bool(obj, params, name, version)
    get_param(obj, params, "port")
    get_param(obj, params, "tlsport")
    if params["sslcert"]:
        raise AssertionError("the playbook never passes sslcert (sslcertref stays as pfSense has it)")
    get_param_bool(obj, params, "forwarding", version)
    get_param(obj, params, "system_domain_local_zone_type")
    for name in (
        "regdhcp",
        "regdhcpstatic",
        "regovpnclients",
        "enablessl",
        "dnssec",
        "forward_tls_upstream",
        "prefetch",
        "prefetchkey",
    ):
        get_param_bool(obj, params, name, version)
    for name in (
        "msgcachesize",
        "outgoing_num_tcp",
        "incoming_num_tcp",
        "edns_buffer_size",
        "num_queries_per_thread",
        "jostle_timeout",
        "cache_max_ttl",
        "cache_min_ttl",
        "infra_host_ttl",
        "infra_cache_numhosts",
        "unwanted_reply_threshold",
        "log_verbosity",
        "hosts",
        "domainoverrides",
    ):
        get_param(obj, params, name)
    if version == "0.7.1":
        for override in obj.get("domainoverrides", []):
            get_param_bool(override, override, "forward_tls_upstream", version)
        uses_itself = (root.findtext("system/dnslocalhost") or None) != "remote"
        if uses_itself and "lo0" not in obj["active_interface"] and "all" not in obj["active_interface"]:
            raise ModuleFailed(
                "This system is configured to use the DNS Resolver as its DNS server, so Localhost or All "
                "must be selected in active_interface."
            )
    elif obj["active_interface"] != "all":
        obj["active_interface"] += ",lo0"
    for host in obj["hosts"]:
        if host["aliases"]:
            host["aliases"] = {"item": host["aliases"]}
        else:
            host["aliases"] = "" if version == "0.7.1" else "\n\t\t\t"
    return obj


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


def validate_resolver(params: Mapping[str, Any], version: Version = "0.7.1") -> None:
    """`_validate_params` (0.7.1 lines 493-508, 0.6.0 lines 472-485)."""
    for host in params["hosts"]:
        addresses = host["ip"].split(",") if version == "0.7.1" else [host["ip"]]
        for address in addresses:
            if not _is_ipv4(address):
                raise ModuleFailed(f"ip, {address} is not a ipv4 address")
    if version == "0.7.1" and params["domainoverrides"] is not None:
        for override in params["domainoverrides"]:
            if not _is_ipv4(override["ip"]):
                raise ModuleFailed(f"ip, {override['ip']} is not a ipv4 address")


REMOVED_WHEN_UNSET = (
    "hideidentity",
    "hideversion",
    "dnssecstripped",
    "forwarding",
    "regdhcp",
    "regdhcpstatic",
    "regovpnclients",
    "enablessl",
    "dnssec",
    "forward_tls_upstream",
    "prefetch",
    "prefetchkey",
)
"""`_get_params_to_remove` for state present (0.7.1 lines 521-527; 0.6.0 lines 498-503 returns none)."""


def apply_resolver(root: ET.Element, args: Mapping[str, Any], version: Version = "0.7.1") -> bool:
    """One `pfsense_dns_resolver` run with `args` against the parsed config.xml `root`, in place.

    run() (module_base.py 0.7.1): validate, build obj, find or create `<unbound>` (the module's
    target is that element itself, pfsense_dns_resolver.py 0.7.1 lines 402-405 and 513-519), then
    `_copy_and_update_target` (module_base.py 0.7.1 lines 301-310): copy_dict_to_element at the top
    level, then remove the booleans obj does not hold. Returns whether the module reports a change
    (write_config would then also stamp `<revision>`, which the model leaves alone).
    """
    params = normalise_resolver_args(args, version)
    if params["state"] != "present":
        raise AssertionError("the playbook only ever asks for state present")
    validate_resolver(params, version)
    obj = resolver_obj(params, root, version)
    unbound = root.find("unbound")
    if unbound is None:
        unbound = new_element("unbound")
        root.append(unbound)
    changed = copy_dict_to_element(obj, unbound, version)
    if version == "0.7.1":
        for name in REMOVED_WHEN_UNSET:
            if name not in obj and (child := unbound.find(name)) is not None:
                unbound.remove(child)
                changed = True
    return changed
