"""Unpack the Ansible collections the rendered playbooks use (toolchain.ANSIBLE_COLLECTIONS) from the
`ansible` wheel requirements/dev.lock pins, for `make demo`.

`validate --deep` runs `ansible-playbook --syntax-check`, which must resolve every module the
playbooks name (community.general, ansible.posix). The `ansible` package brings them, but with
about 38,000 other files of 100-odd collections (500 MB, most of a minute to install): the demo
takes the wheel (pip download, hash-checked against dev.lock) and unpacks only the collections it
needs into a folder the demo points ANSIBLE_COLLECTIONS_PATH at. `make setup` installs the whole
package as before.

Usage: python tools/demo_collections.py PIP DEST   (PIP: the venv's pip; DEST: the collections folder)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))

from ci_lock import DEV_LOCK, lock_blocks  # noqa: E402

from homelabeazy import toolchain  # noqa: E402


def prefixes() -> tuple[str, ...]:
    """The wheel's folders of the collections the playbooks need."""
    return tuple(f"ansible_collections/{c.name.replace('.', '/')}/" for c in toolchain.ANSIBLE_COLLECTIONS)


def main(pip: str, dest: Path) -> int:
    block = lock_blocks(DEV_LOCK.read_text(encoding="utf-8"))["ansible"]
    with tempfile.TemporaryDirectory() as tmp:
        requirement = Path(tmp) / "ansible.txt"
        requirement.write_text(block, encoding="utf-8")
        subprocess.run(
            [pip, "download", "-q", "--no-deps", "--require-hashes", "-r", str(requirement), "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("ansible-*.whl"))
        staging = Path(tmp) / "collections"
        with zipfile.ZipFile(wheel) as archive:
            members = [name for name in archive.namelist() if name.startswith(prefixes())]
            archive.extractall(staging, members)
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging, dest)
    print(f"unpacked {', '.join(c.name for c in toolchain.ANSIBLE_COLLECTIONS)} into {dest}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.rsplit("Usage: ", 1)[1])
    sys.exit(main(sys.argv[1], Path(sys.argv[2])))
