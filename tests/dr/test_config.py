"""The DR options of homelab.yaml: age recipients and the snapshot schedule, good and bad."""

from __future__ import annotations

import pyrage
import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError
from homelabeazy.model.dr_backups import vault_snapshots_on

ANCHOR = "    key_threshold: 3\n"


def _with(lines: str) -> str:
    text = example_text()
    assert ANCHOR in text
    return text.replace(ANCHOR, ANCHOR + lines, 1)


def test_defaults_need_no_new_lines() -> None:
    vault = load_config(example_text()).config.services.vault
    assert vault.age_recipients == []
    assert (vault.snapshots.enabled, vault.snapshots.schedule, vault.snapshots.keep) == (
        None,
        "15 */6 * * *",
        28,
    )
    assert vault_snapshots_on(load_config(example_text()).config), "on: Velero's prefix leaves room"


def test_real_recipients_and_schedule_load() -> None:
    keys = [str(pyrage.x25519.Identity.generate().to_public()) for _ in range(2)]
    text = _with(
        f"    age_recipients: [{keys[0]}, {keys[1]}]\n    snapshots: {{schedule: '@daily', keep: 7}}\n"
    )
    vault = load_config(text).config.services.vault
    assert vault.age_recipients == keys
    assert (vault.snapshots.schedule, vault.snapshots.keep) == ("@daily", 7)


def _problem(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0].format()


def test_a_broken_recipient_is_located_and_named() -> None:
    good = str(pyrage.x25519.Identity.generate().to_public())
    broken = good[:-1] + ("q" if good[-1] != "q" else "p")  # a bech32 checksum error
    message = _problem(_with(f"    age_recipients: [{good}, {broken}]\n"))
    line = _with("").splitlines().index(ANCHOR.rstrip("\n")) + 2
    assert message.startswith(f"homelab.yaml:{line}:")
    assert f"services.vault.age_recipients[1]: '{broken}' is not an age X25519 public key" in message
    assert "age-keygen -y KEYFILE" in message


def test_a_pasted_private_key_is_refused_without_echo() -> None:
    identity = str(pyrage.x25519.Identity.generate())
    message = _problem(_with(f"    age_recipients: [{identity}]\n"))
    assert "is an age identity (a private key), not a recipient" in message
    assert identity not in message
    assert identity[15:] not in message


@pytest.mark.parametrize(
    ("value", "words"), [("keep: 0", "greater than or equal to 1"), ("schedule: often", "cron")]
)
def test_bad_snapshot_settings(value: str, words: str) -> None:
    assert words in _problem(_with(f"    snapshots: {{{value}}}\n"))
