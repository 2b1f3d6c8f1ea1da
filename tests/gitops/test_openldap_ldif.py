"""The directory structure OpenLDAP is bootstrapped with loads into a real slapd database."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from homelabeazy.model import Homelab
from tests.gitops.conftest import render_k8s
from tests.support.integration import need_binary, require_tool

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")


@pytest.mark.integration
def test_structure_ldif_loads_into_slapd(example_homelab: Homelab, tmp_path: Path) -> None:
    slapadd = need_binary("slapadd", "Debian package slapd")
    if not (SCHEMA_DIR / "core.schema").exists() or not (MODULE_DIR / "back_mdb.so").exists():
        require_tool("slapd's schema files or mdb backend are missing (Debian package slapd)")
    values = yaml.safe_load(render_k8s(example_homelab)["kubernetes/values/openldap.yaml"])
    ldif = tmp_path / "structure.ldif"
    ldif.write_text(values["customLdifFiles"]["00-structure.ldif"])
    data = tmp_path / "data"
    data.mkdir()
    config = tmp_path / "slapd.conf"
    config.write_text(
        f"include {SCHEMA_DIR}/core.schema\n"
        f"include {SCHEMA_DIR}/cosine.schema\n"
        f"include {SCHEMA_DIR}/inetorgperson.schema\n"
        f"modulepath {MODULE_DIR}\nmoduleload back_mdb\n"
        f'database mdb\nsuffix "{example_homelab.ldap.base_dn}"\ndirectory {data}\nmaxsize 10485760\n'
    )
    result = subprocess.run(
        [slapadd, "-f", str(config), "-l", str(ldif)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    dump = subprocess.run(["slapcat", "-f", str(config)], capture_output=True, text=True, check=True).stdout
    layout = example_homelab.ldap
    for dn in (layout.base_dn, layout.people_dn, layout.groups_dn, layout.services_dn):
        assert f"dn: {dn}\n" in dump
