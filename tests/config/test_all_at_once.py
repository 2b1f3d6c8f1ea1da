"""Every problem at once: a shape problem does not hide a semantic one.

When the schema refuses a key or a value, the checks still run on what remains (the unknown key
left out, the invalid value left to its default), so one run reports both, in file order. What
the checks say about a part that was set aside is dropped: it is about a value the user did not
write. Where leaving a part out would change what the rest means (a required field, a list item),
only the shape problems are reported, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from homelabeazy.checks import (
    _believable,
    load_config,
)
from homelabeazy.config.load import MAX_SET_ASIDE, LoadedConfig, Shaped, shape_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError, Problem

VIP_OUTSIDE = ("\n  vip: 10.10.10.10\n", "\n  vip: 10.10.20.5\n")
BRIDGE_TYPO = ("  bridge: vmbr0", "  bridgee: vmbr0")


def _edit(*pairs: tuple[str, str]) -> str:
    text = example_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _problems(text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    return caught.value.problems


def _paths(problems: list[Problem]) -> list[str]:
    return [p.path for p in problems]


def test_an_unknown_key_and_a_vip_outside_its_vlan_are_reported_together() -> None:
    problems = _problems(_edit(BRIDGE_TYPO, VIP_OUTSIDE))
    assert _paths(problems) == ["proxmox.bridgee", "cluster.vip"], "both, in the order of the file"
    assert problems[0].check == ""
    assert "did you mean 'bridge'" in problems[0].hint
    assert problems[1].check == "cluster-in-services-vlan"
    assert (problems[0].line or 0) < (problems[1].line or 0)


def test_an_invalid_value_with_a_default_does_not_hide_a_semantic_error() -> None:
    problems = _problems(_edit(("  verify_tls: true", "  verify_tls: maybe"), VIP_OUTSIDE))
    assert _paths(problems) == ["proxmox.verify_tls", "cluster.vip"]


def test_the_default_a_bad_value_was_replaced_by_raises_no_finding_of_its_own() -> None:
    # verify_tls: false would warn (`tls-verify`); a value the schema refused is not false, and
    # the default it is replaced by must not speak for the user either way.
    problems = _problems(_edit(("  verify_tls: true", "  verify_tls: [false]")))
    assert _paths(problems) == ["proxmox.verify_tls"]


def test_a_required_value_that_is_invalid_reports_the_shape_alone() -> None:
    # The VIP cannot be left out (it is required): what remains would not be this homelab.
    problems = _problems(
        _edit(("\n  vip: 10.10.10.10\n", "\n  vip: nowhere\n"), ("  bridge: vmbr0", "  bridgee: x"))
    )
    assert _paths(problems) == ["proxmox.bridgee", "cluster.vip"]
    assert all(p.check == "" for p in problems), "no semantic check ran"


def test_a_file_that_is_only_shape_problems_keeps_its_order_and_no_warning() -> None:
    problems = _problems(
        _edit(("  bridge: vmbr0", "  bridgee: vmbr0"), ("  verify_tls: true", "  verify_tls: false"))
    )
    assert _paths(problems) == ["proxmox.bridgee"], "the tls-verify warning waits for a valid file"


def test_more_problems_than_the_limit_skip_the_semantic_pass() -> None:
    keys = "".join(f"\n  bogus{i}: 1" for i in range(MAX_SET_ASIDE + 1))
    text = _edit(("  bridge: vmbr0", "  bridge: vmbr0" + keys), VIP_OUTSIDE)
    problems = _problems(text)
    assert len(problems) == MAX_SET_ASIDE + 1
    assert "cluster.vip" not in _paths(problems)


def test_exactly_at_the_limit_the_semantic_pass_still_runs() -> None:
    keys = "".join(f"\n  bogus{i}: 1" for i in range(MAX_SET_ASIDE))
    problems = _problems(_edit(("  bridge: vmbr0", "  bridge: vmbr0" + keys), VIP_OUTSIDE))
    assert len(problems) == MAX_SET_ASIDE + 1
    assert _paths(problems)[-1] == "cluster.vip"


def test_an_invalid_list_item_key_without_a_default_reports_the_shape_alone() -> None:
    problems = _problems(_edit(("  - name: whoami", "  - name: Not_A_Label"), VIP_OUTSIDE))
    assert all(p.check == "" for p in problems)


def test_the_cli_prints_both_and_exits_2(cli: Callable[..., Any], tmp_path: Path) -> None:
    config = tmp_path / "homelab.yaml"
    config.write_text(_edit(BRIDGE_TYPO, VIP_OUTSIDE), encoding="utf-8")
    result = cli("validate", str(config))
    assert result.code == 2
    lines = [line for line in result.err.splitlines() if line.startswith("error: ")]
    assert "proxmox.bridgee: unknown key 'bridgee'" in lines[0]
    assert "cluster.vip: 10.10.20.5 is not inside the services VLAN" in lines[1]


def _shaped(
    set_aside: tuple[tuple[str | int, ...], ...], defaulted: tuple[tuple[str | int, ...], ...]
) -> Shaped:
    loaded = shape_config(example_text()).loaded
    assert isinstance(loaded, LoadedConfig)
    return Shaped((), loaded, set_aside, defaulted)


@pytest.mark.parametrize(
    ("path", "believed"),
    [
        (("proxmox", "bridgee"), False),  # the unknown key itself
        (("proxmox", "bridgee", "x"), False),  # below it
        (("proxmox",), True),  # above an unknown key: leaving it out changes nothing there
        (("network",), True),  # elsewhere
    ],
)
def test_which_findings_are_believed_around_an_unknown_key(path: tuple[str, ...], believed: bool) -> None:
    assert _believable(path, _shaped((("proxmox", "bridgee"),), ())) is believed


def test_a_finding_above_a_defaulted_value_is_dropped() -> None:
    shaped = _shaped((("proxmox", "hosts", 0, "cpus"),), (("proxmox", "hosts", 0, "cpus"),))
    assert not _believable(("proxmox", "hosts", 0), shaped), "the host's capacity used the default"
    assert not _believable(("proxmox",), shaped)
    assert _believable(("proxmox", "hosts", 1), shaped)
