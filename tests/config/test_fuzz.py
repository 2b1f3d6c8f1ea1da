"""Random and mutated YAML through `homelab validate`: exit 0 or 2 with a message, never a traceback.

The mutations are the mistakes people make while editing: a deleted or duplicated line, values
swapped between keys, a random scalar (or list, mapping, alias, tag, odd unicode) put in place
of a value, deep nesting. When validate accepts a mutant, the model and the docs must build too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homelabeazy.checks import load_config
from homelabeazy.cli.app import run
from homelabeazy.config.starter import example_text
from homelabeazy.model import build
from homelabeazy.render import render_all

pytestmark = pytest.mark.slow  # hypothesis feeds hundreds of inputs through `validate`

EXAMPLE_LINES = example_text().splitlines()
VALUE_LINES = [i for i, row in enumerate(EXAMPLE_LINES) if ":" in row and not row.lstrip().startswith("#")]

WEIRD = [
    "",
    "~",
    "null",
    "true",
    "no",
    "0",
    "-1",
    "0x1F",
    "1e400",
    ".nan",
    "-.inf",
    "99999999999999999999999999",
    "[]",
    "{}",
    "[1, [2, [3]]]",
    "{a: {b: {c: d}}}",
    "&anchor 5",
    "*anchor",
    "*missing",
    "!!binary aGVsbG8=",
    "!!timestamp 2001-12-14",
    "!!set {a, b}",
    "!!python/object:os.system ls",
    "!custom tag",
    '"\\u0000"',
    '"\\ud800"',
    "'\u202e\u200b\ufeff'",
    "k3s-ëñ-日本",
    "\U0001f600",
    "10.10.10.10-10.10.10.1",
    "10.10.10.0/33",
    "300.1.1.1",
    "|\n  block\n  text",
    ">-",
    "? complex",
    "- item",
    ": :",
    "'unterminated",
    '"unterminated',
    "%TAG ! tag:x,2000:",
    "<<: *anchor",
    "\t",
]

scalars = st.one_of(
    st.sampled_from(WEIRD),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12).map(repr),
)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """The example with 1-4 edits of the kinds people make."""
    lines = list(EXAMPLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "scalar", "nest", "alias", "unicode"]))
        i = draw(st.sampled_from(VALUE_LINES))
        i = min(i, len(lines) - 1)
        if kind == "delete":
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = min(draw(st.sampled_from(VALUE_LINES)), len(lines) - 1)
            if ":" in lines[i] and ":" in lines[j]:
                ki, _, vi = lines[i].partition(":")
                kj, _, vj = lines[j].partition(":")
                lines[i], lines[j] = f"{ki}:{vj}", f"{kj}:{vi}"
        elif kind == "scalar":
            key = lines[i].partition(":")[0]
            lines[i] = f"{key}: {draw(scalars)}"
        elif kind == "nest":
            depth = draw(st.integers(1, 300))
            key = lines[i].partition(":")[0]
            lines[i] = f"{key}: " + "[" * depth + "]" * depth
        elif kind == "alias":
            key = lines[i].partition(":")[0]
            lines[i] = f"{key}: &loop [*loop]" if draw(st.booleans()) else f"{key}: *nowhere"
        else:
            pos = draw(st.integers(0, len(lines[i])))
            char = draw(st.characters(codec="utf-8"))
            lines[i] = lines[i][:pos] + char + lines[i][pos:]
    return "\n".join(lines) + "\n"


def _validate(text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "homelab.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        capsys.readouterr()
        code = run(["validate", str(path)])
        err = capsys.readouterr().err
    return code, err


def _assert_clean(text: str, code: int, err: str) -> None:
    assert "Traceback" not in err
    assert "internal error" not in err
    assert code in (0, 2), err
    if code == 2:
        assert "error" in err
    else:  # what validate accepts, the model and the docs must take
        build(load_config(text).config)
        render_all(build(load_config(text).config), ["docs"])


SETTINGS = settings(
    max_examples=int(os.environ.get("HOMELAB_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(text=mutated_example())
def test_mutated_example_never_crashes(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(text, capsys)
    _assert_clean(text, code, err)


@SETTINGS
@given(text=st.text(max_size=400))
def test_random_text_never_crashes(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(text, capsys)
    _assert_clean(text, code, err)


@SETTINGS
@given(
    data=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=30,
    )
)
def test_random_yaml_structure_never_crashes(data: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    text = json.dumps(data)  # JSON is YAML: random structures with random keys
    code, err = _validate(text, capsys)
    _assert_clean(text, code, err)


SERVICES = [
    "argocd",
    "metallb",
    "cert_manager",
    "traefik",
    "openldap",
    "vault",
    "external_secrets",
    "authelia",
    "consul",
    "velero",
    "efk",
    "longhorn",
]


@settings(max_examples=60, deadline=None)
@given(
    off=st.sets(st.sampled_from(SERVICES)),
    access=st.sampled_from(["public", "one_factor", "two_factor", "group"]),
)
def test_any_service_selection_builds_or_is_refused(off: set[str], access: str) -> None:
    """Whatever the checks accept, the model and the docs build; what they refuse is exit 2."""
    from homelabeazy.checks import run_checks
    from homelabeazy.config.load import parse_yaml
    from homelabeazy.config.schema import HomelabConfig

    data, _ = parse_yaml(example_text())
    for name in off:
        data["services"][name] = {**data["services"][name], "enabled": False}
    data["services"]["longhorn"]["enabled"] = "longhorn" not in off
    data["apps"][1]["access"] = access
    config = HomelabConfig.model_validate(data)
    if any(f.severity == "error" for f in run_checks(config)):
        return
    render_all(build(config), ["docs"])


# --- issue 14, class 4: resource exhaustion from a small file ---------------------------------------

BUDGET_S = float(os.environ.get("HOMELAB_FUZZ_BUDGET_S", "6"))
"""CPU time one hostile input may take through `validate` (in this process). CPU, not wall time:
a blow-up is work done, and the suite shares its cores with other xdist workers and other jobs."""


@st.composite
def alias_bomb(draw: st.DrawFn) -> str:
    """`levels` anchors, each a list aliasing the previous one `width` times: width**levels values."""
    width = draw(st.integers(2, 12))
    levels = draw(st.integers(3, 12))
    rows = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        rows.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    where = draw(st.sampled_from(["top", "values", "duplicate", "example"]))
    bomb = "\n".join(rows)
    nested = "\n".join("        " + row for row in rows)
    if where == "top":
        return bomb + "\n"
    if where == "values":  # inside free-form Helm values, the one place any shape is allowed
        return example_text().replace(
            "      version: 5.3.0\n", f"      version: 5.3.0\n      values:\n{nested}\n", 1
        )
    if where == "duplicate":  # under a duplicate key: ruamel's error message once expanded the bomb
        return example_text() + f"\napps:\n  - name: bomb\n    chart:\n      values:\n{nested}\n"
    return bomb + "\n" + example_text()


@settings(
    max_examples=int(os.environ.get("HOMELAB_FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=alias_bomb())
def test_alias_bomb_is_refused_within_budget(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    started = time.process_time()
    code, err = _validate(text, capsys)
    elapsed = time.process_time() - started
    assert elapsed < BUDGET_S, f"took {elapsed:.1f}s"
    _assert_clean(text, code, err)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(300 * 1024, 4 * 1024 * 1024),
    shape=st.sampled_from(["comment", "keys", "string", "nest"]),
)
def test_oversized_config_is_refused_within_budget(
    size: int, shape: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    filler = {
        "comment": "# padding\n",
        "keys": "k{}: v\n",
        "string": "s: " + "x" * 1000 + "\n",
        "nest": "[",
    }[shape]
    count = size // len(filler) + 1
    body = "".join(filler.format(i) for i in range(count)) if "{}" in filler else filler * count
    text = example_text() + body
    started = time.process_time()
    code, err = _validate(text, capsys)
    elapsed = time.process_time() - started
    assert code == 2
    assert "larger than" in err
    assert elapsed < BUDGET_S, f"took {elapsed:.1f}s"
