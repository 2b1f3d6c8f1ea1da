"""Helm values in homelab.yaml: plain numbers, and what `validate` must refuse because the writer
cannot put it into a values file as Helm would read it (issue 26)."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from homelabeazy.checks import load_config
from homelabeazy.config.starter import example_text
from homelabeazy.errors import ConfigError
from homelabeazy.model import build
from homelabeazy.render.registry import render_all

ANCHOR = "    dashboard_host: traefik\n"
VALUES_FILE = "kubernetes/values/traefik.yaml"


def with_value(scalar: str) -> str:
    """The example with `services.traefik.values.deployment.x: <scalar>`."""
    return example_text().replace(ANCHOR, f"{ANCHOR}    values:\n      deployment:\n        x: {scalar}\n", 1)


def rendered_x(text: str) -> object:
    """`deployment.x` as the rendered values file holds it (read back as Helm's YAML would)."""
    files = render_all(build(load_config(text).config), ["kubernetes"])
    return yaml.safe_load(files[VALUES_FILE])["deployment"]["x"]


@pytest.mark.parametrize(
    ("scalar", "value"),
    [
        ("1.5", 1.5),
        ("0x1F", 31),
        ("0o17", 15),
        ("1_000", 1000),
        ("&n 2.5", 2.5),
        ("!!str 5", "5"),
        ("[1, 2.5, !!str 3]", [1, 2.5, "3"]),
        ("{1: a, ~: b, false: c}", {"1": "a", "null": "b", "false": "c"}),
        ('"\\x1b[31m"', "\x1b[31m"),
    ],
)
def test_numbers_and_standard_tags_render_as_the_plain_value(scalar: str, value: object) -> None:
    """Before: any float (ruamel's ScalarFloat) made `render` fail with an internal error."""
    assert rendered_x(with_value(scalar)) == value


@pytest.mark.parametrize(
    ("scalar", "words", "column"),
    [
        ("!custom tag", "a value tagged !custom", 12),
        ("!custom [a]", "a value tagged !custom", 12),
        ("2001-12-14", "a YAML timestamp", 12),
        ("!!timestamp 2001-12-14T21:59:43.10-05:00", "a YAML timestamp", 12),
        ("!!set {a, b}", "a YAML set (!!set)", 12),
        ("!!float 1e999", "a non-finite number (inf)", 12),
        (".nan", "a non-finite number (nan)", 12),
        ("-.inf", "a non-finite number (-inf)", 12),
        ("!!binary aGVsbG8=", "binary data (!!binary)", 12),
        ("!!pairs [a: 1]", "a list of pairs (!!pairs)", 12),
        ("=", "a value tagged tag:yaml.org,2002:value", 12),
    ],
)
def test_what_the_writer_cannot_represent_is_refused_at_its_line(
    scalar: str, words: str, column: int
) -> None:
    text = with_value(scalar)
    line = text.splitlines().index(f"        x: {scalar}") + 1
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    (problem,) = [p for p in caught.value.problems if p.severity == "error"]
    assert problem.path.startswith("services.traefik.values.deployment.x")  # `!!pairs`: its pair [0]
    assert problem.check == "values-representable"
    assert problem.line == line
    assert problem.column == column or problem.path.endswith("[0]")
    assert words in problem.message


def test_a_lone_surrogate_is_refused_where_it_is_written() -> None:
    text = with_value('"\\ud800"')
    line = text.splitlines().index('        x: "\\ud800"') + 1
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line) == ("services.traefik.values.deployment.x", line)
    assert "surrogate" in problem.message


def test_a_timestamp_key_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(with_value("{2001-12-14: a}"))
    assert "mapping key must be a plain word" in caught.value.problems[0].message


# --- fuzz: whatever `validate` accepts in values, `render` writes, and it reads back the same -------

YAML_SCALARS = st.one_of(
    st.sampled_from(
        [
            "~",
            "null",
            "true",
            "no",
            "yes",
            "0",
            "-1",
            "0x1F",
            "0o7",
            "1_0",
            "1e400",
            "-1e400",
            ".nan",
            ".inf",
            "-.Inf",
            "1.5",
            "-0.0",
            "1e3",
            "99999999999999999999999999",
            "2001-12-14",
            "2001-12-14 21:59:43",
            "12:30:00",
            "!!binary aGVsbG8=",
            "!!set {a}",
            "!!omap [a: 1]",
            "!!pairs [a: 1]",
            "!x y",
            "!x [1]",
            "!x {a: 1}",
            "!!str 5",
            "!!int 7",
            "!!float 1",
            "!!bool yes",
            "!!null ''",
            "'\\x00'",
            '"\\x00"',
            '"\\t"',
            '"\\u202e"',
            '"\\U0001f600"',
            "&a 1",
            "[&b 2, *b]",
            "{}",
            "[]",
            "{a: {b: [1, 2.5]}}",
            "=",
            "<<",
            "'='",
            "? a",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=12).map(lambda t: '"' + t.encode("unicode_escape").decode().replace('"', '\\"') + '"'),
)


def _same(written: object, read: object) -> bool:
    """Equal as Helm would see them (a float that is a whole number may come back as an int)."""
    if isinstance(written, float) and isinstance(read, int | float):
        return math.isclose(written, read) or written == read
    if isinstance(written, list) and isinstance(read, list):
        return len(written) == len(read) and all(_same(a, b) for a, b in zip(written, read, strict=True))
    if isinstance(written, dict) and isinstance(read, dict):
        return written.keys() == read.keys() and all(_same(written[k], read[k]) for k in written)
    return written == read


@pytest.mark.slow  # seconds per case: left out of `make check`, run by `make test`
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scalar=YAML_SCALARS, where=st.sampled_from(["service", "app"]))
def test_what_validate_accepts_in_values_renders_and_reads_back(scalar: str, where: str) -> None:
    if where == "service":
        text = with_value(scalar)
    else:
        text = example_text().replace(
            "      version: 5.3.0\n", f"      version: 5.3.0\n      values:\n        x: {scalar}\n", 1
        )
    try:
        loaded = load_config(text)
    except ConfigError as exc:
        refused = exc.problems
    else:
        refused = []
    if refused:
        assert all(p.line is not None for p in refused), [p.format() for p in refused]
        return
    config = loaded.config
    files = render_all(build(config), ["kubernetes"])
    if where == "service":
        written, path = config.services.traefik.values["deployment"]["x"], VALUES_FILE
        read = yaml.safe_load(files[path])["deployment"]["x"]
    else:
        written = config.apps[0].chart.values["x"]  # type: ignore[union-attr]
        read = yaml.safe_load(files["kubernetes/values/whoami.yaml"])["x"]
    assert _same(written, read), (scalar, written, read)


def test_a_json_surrogate_pair_is_the_character_it_encodes() -> None:
    """JSON is YAML, and JSON spells U+1F600 `\\ud83d\\ude00`: YAML loaders keep the halves apart."""
    assert rendered_x(with_value('"\\ud83d\\ude00 ok"')) == "\U0001f600 ok"


def test_a_lone_surrogate_in_a_key_is_refused_and_printed_escaped(cli, tmp_path) -> None:
    config = tmp_path / "homelab.yaml"
    config.write_text('{"\\ud800": 1}', encoding="utf-8")
    result = cli("validate", str(config))
    assert result.code == 2
    assert "the key '\\ud800' holds a lone surrogate escape" in result.err
