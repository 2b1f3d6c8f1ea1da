"""A model of what pfsensible.core's modules do to pfSense's config.xml, written from their source.

pfsensible.core cannot be installed here (Galaxy only), and no pfSense runs here, so the proof that
the pfSense playbook keeps what is not the homelab's runs the playbook's arguments through this
model instead. Every function names the upstream file and lines it follows (github.com/pfsensible/core,
tag 0.7.1 = 208776c4641eaaa4e6a287ae8faed88c20e89168, and tag 0.6.0 =
0786ddd14f80ec00413cb57a75d3e2ca83092934 for the release the playbook used before). Nothing is
copied: the behaviour is re-stated, including its quirks (positional list overwrite, elements kept
under a scalar, whitespace tails), because the proof depends on exactly those.

Only what the playbook's tasks reach is modelled: `pfsense_dns_resolver` completely (argument
normalisation, `_params_to_obj`, `_validate_params`, `copy_dict_to_element`, the removal of unset
booleans); for `pfsense_vlan`, `pfsense_interface`, `pfsense_alias` and `pfsense_rule` how each finds
its target, where it puts a new element and what else it edits (rule separators). The content those
four write into their own target is the homelab's and is reduced to its identifying fields.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from copy import deepcopy
from typing import Any, Literal
from xml.etree import ElementTree as ET

Version = Literal["0.6.0", "0.7.1"]


class ModuleFailed(Exception):
    """What `module.fail_json(msg=...)` would report: the module stops and writes nothing."""


# --------------------------------------------------------------------------- argument normalisation
# ansible-core's AnsibleModule (module_utils/common/parameters.py): a missing option takes its
# default (None when it has none), values are converted to the option's type, `choices` are checked;
# list-of-dict suboptions are normalised the same way, in place (a missing key is appended).

_BOOL_TRUE = {"1", "true", "yes", "on", "y", "t"}
_BOOL_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def _spec(version: Version) -> dict[str, dict[str, Any]]:
    """DNS_RESOLVER_ARGUMENT_SPEC: plugins/modules/pfsense_dns_resolver.py (0.7.1 lines 313-383,
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


# --------------------------------------------------------------------------- module_base / pfsense helpers


def _get_param(obj: dict[str, Any], params: Mapping[str, Any], name: str) -> None:
    """PFSenseModuleBase._get_ansible_param (module_base.py 0.7.1 lines 164-178): a value that is not
    None is copied, an int as its str."""
    if params.get(name) is not None:
        value = params[name]
        obj[name] = str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _get_param_bool(obj: dict[str, Any], params: Mapping[str, Any], name: str, version: Version) -> None:
    """PFSenseModuleBase._get_ansible_param_bool with value='' (module_base.py 0.7.1 lines 180-196,
    0.6.0 lines 63-74): True writes ''; False deletes the key in 0.7.1 (value_false None) and does
    nothing in 0.6.0."""
    if params.get(name) is not None:
        if params[name]:
            obj[name] = ""
        elif version == "0.7.1" and name in obj:
            del obj[name]


def new_element(tag: str, text: str | None = "\n\t\t\t") -> ET.Element:
    """PFSenseModule.new_element (pfsense.py 0.7.1 lines 116-122)."""
    element = ET.Element(tag)
    element.text = text
    element.tail = "\n\t\t"
    return element


def copy_dict_to_element(
    src: Mapping[str, Any],
    top: ET.Element,
    version: Version,
    sub: int = 0,
    prev: ET.Element | None = None,
) -> bool:
    """PFSenseModule.copy_dict_to_element (pfsense.py 0.7.1 lines 249-343, 0.6.0 lines 244-320).

    Keys of `src` create or overwrite children (found with `find`, i.e. the FIRST child of that tag);
    a list overwrites the children of that tag by position, dropping surplus ones from the end and
    appending missing ones; below the top level (`sub` > 0) any child not named in `src` is removed.
    A scalar written over an element keeps that element's own children. The tails are set as the
    module sets them (it imitates pfSense's indentation). 0.6.0 reports a change for an empty list
    whose tag does not exist yet and does not touch tails.
    """
    changed = False
    for key, value in src.items():
        this = top.find(key)
        if this is None:
            if isinstance(value, dict):
                changed = True
                element = ET.Element(key)
                element.text = "\n" + "\t" * (sub + 4)
                element.tail = "\n" + "\t" * (sub + (2 if version == "0.7.1" else 3))
                if version == "0.7.1":
                    if prev is not None:
                        prev.tail = "\n" + "\t" * (sub + 2)
                    prev = element
                    copy_dict_to_element(value, element, version, sub + 1, prev)
                else:
                    copy_dict_to_element(value, element, version, sub + 1)
                top.append(element)
            elif isinstance(value, list):
                if value or version == "0.6.0":
                    changed = True
                if value and version == "0.7.1" and prev is not None:
                    prev.tail = "\n" + "\t" * (sub + 2)
                for item in value:
                    element = new_element(key)
                    if version == "0.7.1":
                        prev = element
                    if isinstance(item, dict):
                        copy_dict_to_element(
                            item, element, version, sub + 1, prev if version == "0.7.1" else None
                        )
                    else:
                        element.text = item
                    top.append(element)
            else:
                changed = True
                element = ET.Element(key)
                element.text = value
                element.tail = "\n" + "\t" * (sub + (2 if version == "0.7.1" else 3))
                if version == "0.7.1":
                    if prev is not None:
                        prev.tail = "\n" + "\t" * (sub + 2)
                    prev = element
                top.append(element)
        else:
            if isinstance(value, dict):
                if copy_dict_to_element(value, this, version, sub + 1, this if version == "0.7.1" else None):
                    changed = True
            elif isinstance(value, list):
                existing = top.findall(key)
                while len(existing) > len(value):
                    top.remove(existing.pop())
                    changed = True
                while len(existing) < len(value):
                    element = new_element(key)
                    top.append(element)
                    existing.append(element)
                    changed = True
                    if version == "0.7.1":
                        prev = element
                for index, item in enumerate(value):
                    if isinstance(item, str):
                        if existing[index].text is None and item == "":
                            pass
                        elif existing[index].text != item:
                            existing[index].text = item
                            changed = True
                    elif copy_dict_to_element(
                        item, existing[index], version, sub + 1, prev if version == "0.7.1" else None
                    ):
                        changed = True
            elif this.text is None and value == "":
                pass
            elif this.text != value:
                this.text = value
                changed = True
            if version == "0.7.1":
                prev = this
    if sub:
        for child in list(top):
            if child.tag not in src:
                changed = True
                top.remove(child)
    if version == "0.7.1" and prev is not None:
        prev.tail = "\n" + "\t" * (sub + 1)
    return changed


# --------------------------------------------------------------------------- pfsense_dns_resolver


def listen_interfaces(root: ET.Element) -> dict[str, str]:
    """What pfSense's get_possible_listen_ips() offers the 0.7.1 module (pfsense_dns_resolver.py 0.7.1
    lines 411-414): each configured interface by name with its description, and lo0 as Localhost."""
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
        _get_param_bool(obj, params, name, version)
    _get_param(obj, params, "port")
    _get_param(obj, params, "tlsport")
    if params["sslcert"]:
        raise AssertionError("the playbook never passes sslcert (sslcertref stays as pfSense has it)")
    _get_param_bool(obj, params, "forwarding", version)
    _get_param(obj, params, "system_domain_local_zone_type")
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
        _get_param_bool(obj, params, name, version)
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
        _get_param(obj, params, name)
    if version == "0.7.1":
        for override in obj.get("domainoverrides", []):
            _get_param_bool(override, override, "forward_tls_upstream", version)
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
    """`_validate_params` (0.7.1 lines 493-509, 0.6.0 lines 472-485)."""
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
"""`_get_params_to_remove` for state present (0.7.1 lines 521-527; 0.6.0 returns none)."""


def apply_resolver(root: ET.Element, args: Mapping[str, Any], version: Version = "0.7.1") -> bool:
    """One `pfsense_dns_resolver` run with `args` against the parsed config.xml `root`, in place.

    run() (module_base.py 0.7.1): validate, build obj, find or create `<unbound>` (the module's
    target is that element itself, pfsense_dns_resolver.py 0.7.1 lines 404-409), then
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


# ----------------------------------------------------------------- VLANs, interfaces, aliases, rules


def _child(parent: ET.Element, tag: str) -> ET.Element:
    found = parent.find(tag)
    if found is None:
        found = new_element(tag)
        parent.append(found)
    return found


def _fill(element: ET.Element, fields: Mapping[str, str]) -> None:
    for key, value in fields.items():
        child = element.find(key)
        if child is None:
            child = ET.SubElement(element, key)
        child.text = value


def apply_vlan(root: ET.Element, trunk: str, vlan_id: int, descr: str) -> str:
    """pfsense_vlan (module_utils/vlan.py 0.7.1): the target is the `<vlan>` with this `if` and `tag`
    (`_find_target` -> pfsense.find_vlan, pfsense.py lines 540-550); found, its tag/if/pcp/descr/vlanif
    are rewritten (`_copy_and_update_target`); not found, a new one is appended to `<vlans>`."""
    vlans = _child(root, "vlans")
    fields = {"if": trunk, "tag": str(vlan_id), "pcp": "", "descr": descr, "vlanif": f"{trunk}.{vlan_id}"}
    for element in vlans.findall("vlan"):
        if element.findtext("if") == trunk and element.findtext("tag") == str(vlan_id):
            _fill(element, fields)
            return "updated"
    element = new_element("vlan")
    _fill(element, fields)
    vlans.append(element)
    return "created"


def apply_interface(root: ET.Element, descr: str, port: str, address: str, prefixlen: int) -> str:
    """pfsense_interface (module_utils/interface.py 0.7.1 lines 297-315): the target is the interface
    with this port and description, else the one with this description (failing when the port is
    taken), else the one on this port (renamed); a new one is `lan` if missing, else the first free
    `optN` (`_create_target`), appended to `<interfaces>`."""
    interfaces = _child(root, "interfaces")

    def matches(element: ET.Element, by_port: bool, by_name: bool) -> bool:
        same_port = (element.findtext("if") or "").strip() == port
        same_name = (element.findtext("descr") or "").strip().lower() == descr.lower()
        return (not by_port or same_port) and (not by_name or same_name)

    fields = {"descr": descr, "if": port, "enable": "", "ipaddr": address, "subnet": str(prefixlen)}
    for by_port, by_name in ((True, True), (False, True), (True, False)):
        for element in list(interfaces):
            if element.find("descr") is None and by_name:
                continue
            if matches(element, by_port, by_name):
                if (by_port, by_name) == (False, True) and any(
                    (e.findtext("if") or "").strip() == port for e in interfaces
                ):
                    raise ModuleFailed(f"Port {port} is already in use")
                _fill(element, fields)
                return "updated"
    if interfaces.find("lan") is None:
        name = "lan"
    else:
        number = 1
        while interfaces.find(f"opt{number}") is not None:
            number += 1
        name = f"opt{number}"
    element = new_element(name)
    _fill(element, fields)
    interfaces.append(element)
    return "created"


def apply_alias(root: ET.Element, name: str, kind: str, address: str, descr: str) -> str:
    """pfsense_alias (module_utils/alias.py 0.7.1 line 70: root `aliases`, node `alias`, key `name`;
    module_config_base finds by that key): found, rewritten; not found, appended."""
    aliases = _child(root, "aliases")
    fields = {"name": name, "type": kind, "address": address, "descr": descr}
    for element in aliases.findall("alias"):
        if element.findtext("name") == name:
            _fill(element, fields)
            return "updated"
    element = new_element("alias")
    _fill(element, fields)
    aliases.append(element)
    return "created"


def interface_by_display_name(root: ET.Element, display: str) -> str:
    """pfsense.parse_interface: an interface's internal name from its description (or its name)."""
    interfaces = root.find("interfaces")
    for element in list(interfaces) if interfaces is not None else []:
        if (
            element.findtext("descr") or ""
        ).strip().lower() == display.lower() or element.tag == display.lower():
            return element.tag
    raise ModuleFailed(f"{display} is not a valid interface")


def apply_rule(root: ET.Element, args: Mapping[str, Any]) -> str:
    """pfsense_rule (module_utils/rule.py 0.7.1): the target is the rule on this interface whose descr
    is the name (`_find_rule`, lines 389-397); else a rule on it with the same content (lines 362-387,
    which the playbook's conflict check rules out before any task runs); a new rule is inserted at the
    expected position of its interface (`_insert`, lines 487-493: `after: top` -> before the
    interface's first rule, `after: NAME` -> right after that rule) and the interface's separators
    at or below it move down one row (`_adjust_separators`, lines 262-292); a found rule is moved
    there when it is elsewhere (`_update_rule_position`, lines 499-516)."""
    filter_elt = _child(root, "filter")
    interface = interface_by_display_name(root, str(args["interface"]))
    rules = filter_elt.findall("rule")

    def on_interface(element: ET.Element) -> bool:
        return element.find("floating") is None and (element.findtext("interface") or "").lower() == interface

    def position(element: ET.Element) -> int:
        return [e for e in filter_elt.findall("rule") if on_interface(e)].index(element)

    found = next((e for e in rules if on_interface(e) and e.findtext("descr") == args["name"]), None)
    after = str(args["after"])
    if found is not None:
        current = position(found)
        expected = 0 if after == "top" else position(_named(filter_elt, interface, after, on_interface)) + 1
        if current == expected:
            return "unchanged"
        _adjust_separators(filter_elt, interface, current, add=False)
        filter_elt.remove(found)
        _insert(filter_elt, found, interface, after, on_interface)
        return "moved"
    element = new_element("rule")
    _fill(element, {"descr": str(args["name"]), "interface": interface, "type": str(args["action"])})
    _insert(filter_elt, element, interface, after, on_interface)
    return "created"


def _named(filter_elt: ET.Element, interface: str, name: str, on_interface: Any) -> ET.Element:
    for element in filter_elt.findall("rule"):
        if on_interface(element) and element.findtext("descr") == name:
            return element
    raise ModuleFailed(f"Failed to insert after rule={name} interface={interface}")


def _insert(
    filter_elt: ET.Element, element: ET.Element, interface: str, after: str, on_interface: Any
) -> None:
    children = list(filter_elt)
    if after == "top":
        first = next((e for e in children if e.tag == "rule" and on_interface(e)), None)
        index = children.index(first) if first is not None else len(children)
    else:
        index = children.index(_named(filter_elt, interface, after, on_interface)) + 1
    filter_elt.insert(index, element)
    rules = [e for e in filter_elt.findall("rule") if on_interface(e)]
    _adjust_separators(filter_elt, interface, rules.index(element), add=True)


def _adjust_separators(filter_elt: ET.Element, interface: str, start: int, add: bool) -> None:
    """rule.py 0.7.1 lines 262-292 (with before=False: a separator at or below the row moves)."""
    separators = filter_elt.find(f"separator/{interface}")
    if separators is None:
        return
    for separator in separators:
        row = separator.find("row")
        if row is None or row.text is None or separator.findtext("if") != interface:
            continue
        match = re.match(r"fr(\d+)", row.text)
        if match is None:
            continue
        index = int(match.group(1))
        if add and index >= start:
            row.text = f"fr{index + 1}"
        elif not add and index > start:
            row.text = f"fr{index - 1}"
