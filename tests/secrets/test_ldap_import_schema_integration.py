"""`homelab users import` checks every entry against the server's schema before it applies any.

Against a real slapd on loopback: a backup whose LAST entry the server would refuse (an empty value,
an attribute no class allows, an unknown attribute, a required one missing, two values of a
single-valued one, a number that is not one) is imported into an emptied directory. Without the
schema check the import adds every entry before the bad one, then fails half way; with it the
command exits 2 naming the file, the entry and the attribute, and the directory stays empty.
The directory is read back with plain ldap3, not with the code under test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from homelabeazy.model import dr_artifacts
from tests.secrets.directory_data import PEOPLE, USERS, Cli, admin, snapshot, uid, wipe
from tests.secrets.servers import SlapdServer

pytestmark = pytest.mark.integration

LAST = f"uid={uid(USERS - 1)},{PEOPLE}"

# case -> (lines added to the last person, lines whose start drops them from it, words expected)
CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "empty-value": (("description:",), (), "description: an empty value"),
    "not-allowed-by-its-classes": (
        ("gidNumber: 5000",),
        (),
        "gidNumber: no object class of the entry allows it",
    ),
    "unknown-attribute": (("favouriteColour: blue",), (), "favouriteColour: not an attribute type"),
    "required-missing": ((), ("sn:", "sn::"), "sn: required by its object classes but missing"),
    "single-valued-twice": (
        ("preferredLanguage: en", "preferredLanguage: de"),
        (),
        "preferredLanguage: 2 values, the schema allows one",
    ),
    "unknown-object-class": (
        ("objectClass: spaceship",),
        (),
        "objectClass: 'spaceship' is not in the server's schema",
    ),
}


def _edited(ldif: bytes, add: tuple[str, ...], drop: tuple[str, ...]) -> bytes:
    lines = ldif.decode("utf-8").split("\n")
    start = lines.index(f"dn: {LAST}")
    end = lines.index("", start)
    entry = [line for line in lines[start + 1 : end] if not line.startswith(drop or ("\0",))]
    return "\n".join([*lines[: start + 1], *add, *entry, *lines[end:]]).encode("utf-8")


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_last_entry_stops_the_import_before_anything_is_applied(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], tmp_path: Path, case: str
) -> None:
    del populated
    exported = tmp_path / "backups" / "directory.ldif"
    assert backup_users("export", "--to", str(exported)).code == 0
    add, drop, words = CASES[case]
    broken = tmp_path / "backups" / f"{case}.ldif"
    broken.write_bytes(_edited(exported.read_bytes(), add, drop))
    assert broken.read_bytes() != exported.read_bytes()
    dr_artifacts.sidecar_file(broken).write_text(dr_artifacts.sidecar_text(broken.read_bytes()))
    wipe(directory_server)

    result = backup_users("import", "--from", str(broken), "--yes")

    err = result.err.replace("\n", "")
    assert result.code == 2, result.err
    assert f"{broken}: not a usable directory backup" in err
    assert f"{LAST}: {words}" in err
    assert "nothing was changed" in err
    assert "Traceback" not in result.err
    assert snapshot(directory_server) == {}, "an entry was applied before the bad one was found"


def test_the_unedited_export_passes_the_schema_check(
    backup_users: Cli, directory_server: SlapdServer, populated: dict[str, str], tmp_path: Path
) -> None:
    """The check refuses nothing slapd itself exported (binary photos, hashes, UTF-8 names included)."""
    del populated
    exported = tmp_path / "backups" / "directory.ldif"
    assert backup_users("export", "--to", str(exported)).code == 0
    before = snapshot(directory_server)
    conn = admin(directory_server)
    conn.delete(LAST)
    conn.unbind()
    result = backup_users("import", "--from", str(exported), "--yes")
    assert result.code == 0, result.err
    assert "1 added" in result.err
    assert snapshot(directory_server) == before
