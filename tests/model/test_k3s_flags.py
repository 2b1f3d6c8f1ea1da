"""The K3s flag table (model/k3s_flags.py), the configuration built from it (model/k3s_config.py)
and the `k3s-flags` check: every first-release boundary of the table from both sides (exactly at
the first release of a line, and the release before it), the rendered configuration on both sides,
and the check catching a flag the release lacks or a needed flag left out (planted bugs)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from homelabeazy.checks import load_config, run_checks
from homelabeazy.config.load import parse_config
from homelabeazy.config.schema import HomelabConfig
from homelabeazy.config.starter import example_text
from homelabeazy.model import k3s_config
from homelabeazy.model.k3s_config import flag_problems, rendered_flags, server_settings
from homelabeazy.model.k3s_flags import FLAGS_BY_NAME, K3S_FLAGS, K3sFlag
from homelabeazy.model.k3s_release import OLDEST_SUPPORTED_MINOR, K3sVersion

BOUNDARIES = [(flag, first) for flag in K3S_FLAGS for first in flag.first]
"""Every (flag, first release of a line) the table holds."""
EACH_BOUNDARY = pytest.mark.parametrize(
    ("flag", "first"), BOUNDARIES, ids=lambda v: v.name if isinstance(v, K3sFlag) else v.text
)
NODE_OVERRIDES = "  node_overrides: {}\n"
EXAMPLE = parse_config(example_text(), "homelab.yaml").config


def _v(text: str) -> K3sVersion:
    parsed = K3sVersion.parse(text)
    assert parsed is not None, text
    return parsed


def _before(first: K3sVersion) -> K3sVersion | None:
    """The release just before `first` in its line (the previous patch), None at a line's .0."""
    return replace(first, patch=first.patch - 1) if first.patch else None


def _config(version: str, snapshots: str = "") -> HomelabConfig:
    """The example (S3 copy on: Velero has a prefix) at `version`, with `etcd_snapshots` lines;
    parsed without the semantic checks, since some of these are what the `k3s-flags` check refuses."""
    text = example_text().replace("k3s_version: v1.33.5+k3s1", f"k3s_version: {version}", 1)
    if snapshots:
        text = text.replace(
            "  node_overrides: {}\n", f"  node_overrides: {{}}\n  etcd_snapshots: {snapshots}\n", 1
        )
    return parse_config(text, "homelab.yaml").config


def test_the_table_is_well_formed() -> None:
    names = [flag.name for flag in K3S_FLAGS]
    assert len(names) == len(set(names))
    for flag in K3S_FLAGS:
        assert flag.default, flag.name
        assert flag.since, flag.name
        assert flag.why, flag.name
        lines = sorted(first.minor for first in flag.first)
        assert lines == (list(range(lines[0], lines[-1] + 1)) if lines else []), f"{flag.name}: a gap"
        assert all(first.minor >= OLDEST_SUPPORTED_MINOR for first in flag.first), flag.name


def test_etcd_s3_retention_is_where_k3s_documents_it() -> None:
    """docs.k3s.io/cli/etcd-snapshot, 'S3 Retention' version gate; release notes of each line."""
    flag = FLAGS_BY_NAME["etcd-s3-retention"]
    assert [first.text for first in flag.first] == [
        "v1.31.12+k3s1",
        "v1.32.8+k3s1",
        "v1.33.4+k3s1",
        "v1.34.0+k3s1",
    ]
    assert flag.default.startswith("5 ")


@pytest.mark.parametrize(
    ("flag", "first"), BOUNDARIES, ids=lambda v: v.name if isinstance(v, K3sFlag) else v.text
)
def test_a_line_has_the_flag_from_its_first_release_on(flag: K3sFlag, first: K3sVersion) -> None:
    assert flag.available(first)
    assert flag.available(replace(first, patch=first.patch + 1))
    assert flag.available(replace(first, build=first.build + 1))
    before = _before(first)
    if before is not None:
        assert not flag.available(before)
        assert not flag.available(replace(before, build=9))
    assert flag.first_release_from(first) == first


def test_lines_outside_the_listed_ones() -> None:
    flag = FLAGS_BY_NAME["etcd-s3-retention"]
    assert not flag.available(_v("v1.30.14+k3s1"))  # older than every listed line
    assert flag.available(_v("v1.35.0+k3s1"))  # newer: from its first release
    assert flag.first_release_from(_v("v1.30.14+k3s1")) == _v("v1.31.12+k3s1")
    assert flag.first_release_from(_v("v1.31.5+k3s1")) == _v("v1.31.12+k3s1")
    assert FLAGS_BY_NAME["etcd-s3"].available(_v(f"v1.{OLDEST_SUPPORTED_MINOR}.0+k3s1"))


@pytest.mark.parametrize(
    ("flag", "first"), BOUNDARIES, ids=lambda v: v.name if isinstance(v, K3sFlag) else v.text
)
def test_rendered_configuration_follows_the_boundary(flag: K3sFlag, first: K3sVersion) -> None:
    """The servers' config.yaml carries the flag from the line's first release, not before."""
    assert flag.name in server_settings(_config(first.text)).names
    assert flag_problems(_config(first.text)) == []
    before = _before(first)
    if before is not None:
        assert flag.name not in server_settings(_config(before.text)).names
        assert flag_problems(_config(before.text)) == []  # S3 then follows etcd-snapshot-retention


@pytest.mark.parametrize(
    ("flag", "first"), BOUNDARIES, ids=lambda v: v.name if isinstance(v, K3sFlag) else v.text
)
def test_a_different_s3_depth_needs_the_flag(flag: K3sFlag, first: K3sVersion) -> None:
    """`s3_retention` apart from `retention` is possible only where the release has the flag."""
    at = _config(first.text, "{s3_retention: 60}")
    assert dict(server_settings(at).items)[flag.name] == 60
    assert flag_problems(at) == []
    before = _before(first)
    if before is None:
        return
    problems = flag_problems(_config(before.text, "{s3_retention: 60}"))
    assert [p.message for p in problems] == [
        f"{before.text} has no --etcd-s3-retention (first in v1.31.12+k3s1, v1.32.8+k3s1, v1.33.4+k3s1, "
        "v1.34.0+k3s1), and this homelab needs it: cluster.etcd_snapshots.s3_retention (60) differs from "
        "retention (28); without the flag S3 keeps as many as the servers do"
    ]
    assert problems[0].hint == f"use {first.text} or later"


def test_without_s3_no_s3_flag_is_set_or_needed() -> None:
    text = example_text().replace("      prefix: velero\n", "", 1)
    config = load_config(text).config
    assert not [name for name in rendered_flags(config) if name.startswith("etcd-s3")]
    assert flag_problems(config) == []


def test_the_example_is_clean_and_sets_only_table_flags() -> None:
    config = load_config(example_text()).config
    assert rendered_flags(config) <= FLAGS_BY_NAME.keys()
    assert not [f for f in run_checks(config) if f.check == "k3s-flags"]


# --- planted bugs: the check must see them -------------------------------------------------------


def test_a_needed_flag_left_out_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """The builder forgetting etcd-s3-retention (K3s would keep 5 in S3) is caught on k3s_version."""
    real = k3s_config.server_settings

    def forgetful(config: HomelabConfig) -> k3s_config.K3sServerSettings:
        kept = tuple(item for item in real(config).items if item[0] != "etcd-s3-retention")
        return k3s_config.K3sServerSettings(kept)

    monkeypatch.setattr(k3s_config, "server_settings", forgetful)
    findings = [f for f in run_checks(EXAMPLE) if f.check == "k3s-flags"]
    assert [(f.path, f.message) for f in findings] == [
        (
            ("cluster", "k3s_version"),
            "the rendered K3s configuration leaves out --etcd-s3-retention, which v1.33.5+k3s1 has and this "
            "homelab needs: without it K3s keeps its own default of 5 snapshots per server in S3, not 28 "
            "(cluster.etcd_snapshots)",
        )
    ]


def test_a_flag_the_release_lacks_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flag the configuration sets but the pinned release does not have (its first release moved
    past the pin) is caught, with the release to use."""
    flag = FLAGS_BY_NAME["etcd-expose-metrics"]
    late = replace(flag, first=(_v("v1.33.6+k3s1"),))
    monkeypatch.setitem(k3s_config.FLAGS_BY_NAME, flag.name, late)
    monkeypatch.setattr(k3s_config, "K3S_FLAGS", tuple(late if f is flag else f for f in K3S_FLAGS))
    problems = flag_problems(EXAMPLE)
    assert [(p.message, p.hint) for p in problems] == [
        (
            "v1.33.5+k3s1 has no --etcd-expose-metrics, which the rendered K3s configuration sets "
            "(first in v1.33.6+k3s1)",
            "use v1.33.6+k3s1 or later",
        )
    ]


def test_a_flag_missing_from_the_table_is_a_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    real = k3s_config.server_settings

    def extra(config: HomelabConfig) -> k3s_config.K3sServerSettings:
        return k3s_config.K3sServerSettings((*real(config).items, ("secrets-encryption", True)))

    monkeypatch.setattr(k3s_config, "server_settings", extra)
    assert [p.message for p in flag_problems(EXAMPLE)] == [
        "the rendered K3s configuration sets --secrets-encryption, which the K3s flag table does not list"
    ]


def test_the_check_leaves_unsupported_releases_to_k3s_version() -> None:
    text = example_text().replace("k3s_version: v1.33.5+k3s1", "k3s_version: v1.28.15+k3s1", 1)
    text = text.replace(
        "  node_overrides: {}\n", "  node_overrides: {}\n  etcd_snapshots: {s3_retention: 60}\n", 1
    )
    findings = {f.check for f in run_checks(parse_config(text, "homelab.yaml").config)}
    assert "k3s-version" in findings
    assert "k3s-flags" not in findings
