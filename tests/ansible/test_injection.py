"""Issue 14, class 5: user text in every file Ansible reads is data, never a template.

The nastiest strings go into the config (firewall rule descriptions reach the pfSense vars) and
straight through `to_ansible_yaml` (every shape: keys, nested lists, a template split over two
variables); real ansible-playbook then templates every variable, connection local, and nothing
they ask for may run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ExternalSystemError
from homelabeazy.model import build
from homelabeazy.ops.ansible import ansible_playbook_binary
from homelabeazy.render import render_all
from homelabeazy.render.serialize import AnsibleTemplate, ansible_data, to_ansible_yaml
from tests.support.integration import require_tool

ANSIBLE_READ = (
    "ansible/inventory.yml",
    "ansible/group_vars/",
    "network/pfsense/vars/",
    "network/pfsense/inventory.yml",
    "network/proxmox/inventory.yml",
    "network/proxmox/playbook.yml",
)


def nasty(marker: Path) -> list[str]:
    """Templates that, if Ansible evaluated them, would create `marker`-something files."""
    return [
        f"{{{{ lookup('pipe', 'touch {marker}-1') }}}}",
        f"{{% set x = lookup('pipe', 'touch {marker}-2') %}}x",
        f"{{{{ query('ansible.builtin.pipe', 'touch {marker}-3') }}}}",
        f"{{# comment #}}{{{{ lookup('pipe','touch {marker}-4') }}}}",
    ]


def _binary() -> str:
    try:
        return ansible_playbook_binary()
    except ExternalSystemError:
        require_tool("ansible-playbook not installed (pip install 'ansible>=12')")
        raise


def _template_everything(folder: Path, inventory: Path, vars_files: list[Path]) -> str:
    """Run a local play that templates every variable of every host and every vars file."""
    playbook = folder / "probe.yml"
    playbook.write_text(
        "- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  vars_files: {json.dumps([str(v) for v in vars_files])}\n"
        "  tasks:\n"
        '    - ansible.builtin.debug:\n        msg: "{{ hostvars[item] }}"\n'
        "      loop: \"{{ groups['all'] + ['localhost'] }}\"\n"
        '    - ansible.builtin.debug:\n        msg: "{{ vars }}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "HOMELAB_K3S_TOKEN": "t" * 64}
    done = subprocess.run(
        [_binary(), "-i", str(inventory), str(playbook)],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.integration
def test_rendered_ansible_files_keep_user_text_as_data(tmp_path: Path) -> None:
    # A short path: a rule description holds at most 100 bytes (nftables' and pfSense's comments).
    short = Path(tempfile.mkdtemp(prefix="inj", dir="/tmp"))
    try:
        _keep_user_text_as_data(tmp_path, short / "pwned")
    finally:
        shutil.rmtree(short)


def _keep_user_text_as_data(tmp_path: Path, marker: Path) -> None:
    strings = nasty(marker)
    text = example_text()
    plain = "description: guests may use the web apps through Traefik"
    assert plain in text
    rules = "".join(
        f"      - from: guests\n        to: services\n        protocol: tcp\n        ports: [{8000 + i}]\n"
        f"        action: allow\n        description: {json.dumps(s)}\n"
        for i, s in enumerate(strings)
    )
    text = text.replace(plain, plain + "\n" + rules.rstrip("\n"))
    files = render_all(build(load_config(text).config))
    repo = tmp_path / "repo"
    for rel, body in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(body, encoding="utf-8")
    reached = [rel for rel in files if rel.startswith(ANSIBLE_READ) and "lookup('pipe'" in files[rel]]
    assert reached, "the nasty strings reach no Ansible-read file: the test proves nothing"
    pfsense_vars = sorted((repo / "network/pfsense/vars").glob("*.yml"))
    out = _template_everything(repo / "ansible", repo / "ansible/inventory.yml", pfsense_vars)
    assert list(tmp_path.glob("pwned*")) == []
    assert "{{ lookup('pipe', 'touch " in out  # the text itself came through, untemplated


@pytest.mark.integration
def test_to_ansible_yaml_keeps_every_shape_as_data(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    strings = nasty(marker)
    data = {
        "all": {
            "hosts": {
                "probe-host": {
                    "ansible_connection": "local",
                    "description": strings[0],
                    "rules": [{"descr": s, "tags": [s, {"k": s}]} for s in strings],
                    strings[1]: "as a key",
                    "half_a": "{",
                    "half_b": f"{{ lookup('pipe', 'touch {marker}-5') }}}}",
                    "joined": AnsibleTemplate("{{ half_a }}{{ half_b }}"),
                }
            }
        }
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(to_ansible_yaml(data), encoding="utf-8")
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(
        to_ansible_yaml({"more": strings, "nested": {"x": [[strings[2]]]}}), encoding="utf-8"
    )
    out = _template_everything(tmp_path, inventory, [vars_file])
    assert list(tmp_path.glob("pwned*")) == []
    assert f"touch {marker}-3" in out


def test_ansible_data_marks_only_text_that_could_template() -> None:
    marked = ansible_data({"a": "plain", "b": "x{y", "c": [AnsibleTemplate("{{ ours }}")], "{k": 1})
    assert type(marked["a"]) is str
    assert type(marked["b"]) is not str
    assert type(marked["c"][0]) is str
    assert all(type(k) is not str for k in marked if k.startswith("{"))
    assert to_ansible_yaml({"b": "x{y"}) == "b: !unsafe x{y\n"
