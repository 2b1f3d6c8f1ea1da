"""Issue 26: user text in LDIF reads back as exactly that text, never as more entries.

`services.openldap.organisation` once went into the directory's base-entry LDIF as `o: <text>`, so
a newline in it added entries of the user's choosing (a second admin). Now the schema refuses
control characters and the writer base64-encodes every value RFC 2849 does not call safe. Proven
three ways for any organisation the schema accepts: the `ldif` library parses the file back to the
same four entries; the chart hands the file to the image unchanged; real `ldapadd` loads it into a
real slapd, which returns the organisation byte for byte.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import ldap3
import ldif
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from homelabeazy.config.schema.fields import FreeText
from homelabeazy.lifecycle import directory
from homelabeazy.model.identity import ldap_layout
from homelabeazy.model.ldif_text import ldif_line
from homelabeazy.render.k8s.services.openldap import structure_ldif
from tests.conftest import SHARED
from tests.secrets.servers import SlapdServer
from tests.support.integration import need_binary

LAYOUT = ldap_layout("home.example.com")
BASE = LAYOUT.base_dn
ADMIN = f"cn=admin,{BASE}"
TRICKY = [
    "Example\n\ndn: cn=evil,dc=home,dc=example,dc=com\nobjectClass: person",
    ":: ZXZpbA==",
    "<file:///etc/passwd",
    ": leading colon",
    "trailing space ",
    " leading space",
    "Zoë & Ünal GmbH",
    "a\rb",
    "\x1b[31mred",
    "x\u202ey",
    "nul\x00byte",
    "#comment-like",
    "- dash",
    "quote\" and 'single'",
]


def accepted(value: str) -> bool:
    """Whether homelab.yaml takes `value` as an organisation (free text, min length 1)."""
    try:
        TypeAdapter(FreeText).validate_python(value)
    except ValidationError:
        return False
    return bool(value)


organisations = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=60).filter(accepted)


def parse(text: str) -> list[tuple[str, dict[str, list[bytes]]]]:
    parser = ldif.LDIFParser(io.BytesIO(text.encode("utf-8")), encoding=None, strict=True)
    return [(dn, record) for dn, record in parser.parse() if dn is not None]


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_organisations_are_refused_or_read_back_exactly(value: str) -> None:
    if not accepted(value):
        return  # the schema refuses it (control characters, surrounding space): validate says where
    entries = parse(structure_ldif(LAYOUT, value))
    assert [dn for dn, _ in entries] == [BASE, LAYOUT.people_dn, LAYOUT.groups_dn, LAYOUT.services_dn]
    assert entries[0][1]["o"] == [value.encode("utf-8")]


def test_a_newline_in_the_organisation_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(FreeText).validate_python(TRICKY[0])


@settings(max_examples=300, deadline=None)
@given(organisations)
def test_any_accepted_organisation_parses_back_to_itself(value: str) -> None:
    entries = parse(structure_ldif(LAYOUT, value))
    assert len(entries) == 4
    assert entries[0] == (
        BASE,
        {"objectClass": [b"dcObject", b"organization"], "dc": [b"home"], "o": [value.encode("utf-8")]},
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_value_at_all_is_one_ldif_value(value: str) -> None:
    """Below the schema too: whatever the value, it is one attribute line that parses back to it."""
    line = ldif_line("description", value)
    assert "\n" not in line
    entries = parse(f"dn: {BASE}\n{line}\n")
    assert entries == [(BASE, {"description": [value.encode("utf-8", "surrogatepass")]})]


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_the_renderer_keeps_one_base_entry_whatever_it_is_given(value: str) -> None:
    """Defence in depth: even text the schema refuses (a newline, NUL) stays the one `o` value."""
    entries = parse(structure_ldif(LAYOUT, value))
    assert [dn for dn, _ in entries] == [BASE, LAYOUT.people_dn, LAYOUT.groups_dn, LAYOUT.services_dn]
    assert entries[0][1]["o"] == [value.encode("utf-8")]


@settings(max_examples=100, deadline=None)
@given(name=organisations, description=organisations)
def test_users_ldif_carries_names_and_descriptions_exactly(name: str, description: str) -> None:
    entries = (
        directory.user_entry(LAYOUT, "zoe", name, "zoe@home.example.com"),
        directory.group_entry(LAYOUT, "crew", description, []),
    )
    parsed = dict(parse(directory.render_ldif(entries)))
    assert parsed[f"uid=zoe,{LAYOUT.people_dn}"]["cn"] == [name.encode()]
    assert parsed[f"cn=crew,{LAYOUT.groups_dn}"]["description"] == [description.encode()]


def test_the_chart_hands_the_file_to_the_image_unchanged(tmp_path: Path) -> None:
    """The chart indents the value into a ConfigMap's block scalar; what the pod reads is our text."""
    helm = Path(os.environ.get("HOMELAB_HELM", ".venv/bin/helm"))
    if not helm.exists():
        helm = Path(need_binary("helm", "make setup"))
    text = structure_ldif(LAYOUT, "Zoë & Ünal: <GmbH> # \"quoted\" 'single' trailing ")
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"customLdifFiles": {"00-structure.ldif": text}}), encoding="utf-8")
    chart = SHARED / "charts" / "openldap-stack-ha-4.3.3"
    out = subprocess.run(
        [
            str(helm),
            "template",
            "x",
            str(chart),
            "-f",
            str(values),
            "--show-only",
            "templates/configmap-customldif.yaml",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = yaml.safe_load(out)["data"]["00-structure.ldif"]
    assert data == text.rstrip("\n")  # `|-`: the block scalar drops only the final newline
    assert parse(data + "\n") == parse(text)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> SlapdServer:
    server = SlapdServer(tmp_path_factory.mktemp("slapd"), BASE, ADMIN, "admin-" + os.urandom(6).hex())
    server.start()
    yield server  # type: ignore[misc]
    server.stop()


def _ldapadd(server: SlapdServer, text: str, folder: Path) -> subprocess.CompletedProcess[str]:
    ldapadd = need_binary("ldapadd", "apt-get install ldap-utils")
    path = folder / "00-structure.ldif"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [ldapadd, "-x", "-H", server.url, "-D", ADMIN, "-w", server.root_password, "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def _read_back(server: SlapdServer) -> dict[str, list[bytes]]:
    conn = ldap3.Connection(ldap3.Server(server.url), ADMIN, server.root_password, auto_bind=True)
    conn.search(BASE, "(objectClass=*)", attributes=["o"])
    found = {
        e["dn"]: e["raw_attributes"].get("o", []) for e in conn.response if e["type"] == "searchResEntry"
    }
    for dn in sorted(found, key=lambda d: d.count(","), reverse=True):
        conn.delete(dn)
    conn.unbind()
    return found


@pytest.mark.integration
@settings(
    max_examples=int(os.environ.get("HOMELAB_LDIF_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(value=st.one_of(st.sampled_from([t for t in TRICKY if accepted(t)]), organisations))
def test_ldapadd_loads_exactly_the_four_entries_and_the_organisation(
    slapd: SlapdServer, tmp_path: Path, value: str
) -> None:
    done = _ldapadd(slapd, structure_ldif(LAYOUT, value), tmp_path)
    found = _read_back(slapd)
    assert done.returncode == 0, done.stderr
    assert sorted(found) == sorted([BASE, LAYOUT.people_dn, LAYOUT.groups_dn, LAYOUT.services_dn])
    assert found[BASE] == [value.encode("utf-8")]
