"""Issue 14: config inputs that could escape the tree, leak a credential or exhaust the machine.

Each is an exit-2 config or usage error with a precise message, never a traceback or a hang.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from homelabeazy.checks import load_config
from homelabeazy.cli.app import run
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(text, file="homelab.yaml")
    return [p.format() for p in err.value.problems]


@pytest.mark.parametrize("bad", ["../../x", "/etc", "kubernetes/../../x", ".git/hooks", ".homelab", "a/./b"])
def test_gitops_path_must_stay_inside_the_repo(bad: str) -> None:
    text = example_text().replace("\n  path: kubernetes\n", f"\n  path: {bad}\n")
    assert f"path: {bad}" in text
    found = _problems(text)
    assert any("gitops.path:" in p for p in found), found
    line = next(i for i, row in enumerate(text.splitlines(), 1) if row == f"  path: {bad}")
    assert any(p.startswith(f"homelab.yaml:{line}:") for p in found), found  # located


def test_app_manifest_path_must_stay_inside_the_repo() -> None:
    text = example_text().replace(
        "apps:\n", "apps:\n  - name: mine\n    manifests:\n      path: ../../etc\n    port: 80\n", 1
    )
    found = _problems(text)
    assert any("apps[0].manifests.path:" in p for p in found), found


@pytest.mark.parametrize(
    "url",
    [
        "https://bob:s3cret@git.example.com/lab.git",
        "https://ghp_token@github.com/me/lab.git",
        "ssh://git:hunter2@git.example.com/lab.git",
    ],
)
def test_repo_url_with_credentials_is_refused(url: str) -> None:
    text = example_text().replace("repo_url: https://github.com/example/homelab.git", f"repo_url: {url}")
    assert url in text
    found = _problems(text)
    assert any("gitops.repo_url:" in p and "token_env" in p for p in found), found
    assert all("s3cret" not in p and "hunter2" not in p for p in found)  # the secret is not echoed


@pytest.mark.parametrize("url", ["git@github.com:me/lab.git", "ssh://git@git.example.com/lab.git"])
def test_repo_url_with_a_plain_ssh_user_is_fine(url: str) -> None:
    load_config(
        example_text().replace("repo_url: https://github.com/example/homelab.git", f"repo_url: {url}")
    )


def test_s3_url_with_credentials_is_refused() -> None:
    plain = "s3_url: https://minio.home.example.com"
    assert plain in example_text()
    text = example_text().replace(plain, "s3_url: https://AKIA:secret@minio.home.example.com")
    found = _problems(text)
    assert any("s3_url:" in p and "velero/s3" in p for p in found), found


def test_a_fifo_is_refused_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "homelab.yaml"
    os.mkfifo(fifo)
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(run(["validate", str(fifo)])), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader so the test process can end
        with open(fifo, "w") as handle:
            handle.write("")
        pytest.fail("validate blocked on a FIFO")
    assert result == [2]
    assert "not a regular file" in capsys.readouterr().err


def test_dev_zero_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "/dev/zero"]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_too_deep_nesting_is_refused() -> None:
    """Deep but short: block mappings 80 levels down inside free-form Helm values."""
    nested = (
        "".join("        " + "  " * i + f"k{i}:\n" for i in range(80)) + "        " + "  " * 80 + "x: 1\n"
    )
    text = example_text().replace(
        "      version: 5.3.0\n", "      version: 5.3.0\n      values:\n" + nested, 1
    )
    found = _problems(text)
    assert any("nested more than" in p for p in found), found


# --- low: bad numbers and keys are located exit-2 errors -------------------------------------------


@pytest.mark.parametrize("ports", ["[-1]", "[0]", "[70000]", "['0-5']", "['9-3']", "['1-99999']"])
def test_out_of_range_ports_are_config_errors(
    ports: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = example_text().replace("ports: [443]", f"ports: {ports}")
    found = _problems(text)
    assert any("firewall.rules[0].ports[0]" in p for p in found), found
    path = tmp_path / "homelab.yaml"
    path.write_text(text)
    assert run(["validate", str(path)]) == 2
    assert "internal error" not in capsys.readouterr().err


def test_absurd_memory_is_a_config_error() -> None:
    text = example_text().replace("memory_mb: 65536", f"memory_mb: {2**70}")
    assert any("proxmox.hosts[0].memory_mb" in p for p in _problems(text))


def test_an_ssh_key_entry_holding_two_keys_is_refused() -> None:
    text = example_text()
    start = text.index("public_keys:")
    line_end = text.index("\n", text.index("- ", start))
    key_line = text[text.index("- ", start) : line_end]
    key = key_line[2:].strip().strip("\"'")
    two = json_quote(
        key + "\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl evil"
    )
    found = _problems(text[: text.index("- ", start)] + "- " + two + text[line_end:])
    assert any("public_keys[0]" in p and "line break" in p for p in found), found


def json_quote(text: str) -> str:
    import json

    return json.dumps(text)


def test_terminal_escapes_in_keys_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "homelab.yaml"
    path.write_text(example_text() + '"\\e]0;pwned\\a\\e[2J": 1\n', encoding="utf-8")
    assert run(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\x07" not in err
    assert "\\x1b]0;pwned" in err  # shown, visibly
