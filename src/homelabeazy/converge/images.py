"""Every container image is pinned: a tag other than `latest`, or a digest.

An image without a tag is `latest`; a `latest` image changes under the homelab at the next pull
(a node replaced, a pod rescheduled, `imagePullPolicy: Always`), so two nodes may run different
code and nothing in Git says which. The check reads the effective pod templates (chart defaults,
our values and the user's overrides already merged by Helm), so a default we never set is caught
as well. A finding names the container and, where the service's catalog module knows it, the
values key its chart takes that image from (`services.<name>.values.<key>`); for our own
manifests the fix is ours, not the user's.

K3s's built-in objects are not judged: the proof's copy of them is a model without images, and
K3s pins its packaged components itself (by `cluster.k3s_version`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from homelabeazy.converge.inventory import containers, pod_templates
from homelabeazy.converge.sync import applied
from homelabeazy.desired.state import DesiredObject, DesiredState, Finding
from homelabeazy.model import Homelab

TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
"""A tag as the OCI distribution reference grammar allows it."""
FLOATING = frozenset({"latest"})


def image_problem(image: str) -> str | None:
    """Why `image` is not pinned, or None when it is (`name:tag`, `name@sha256:…`, or both)."""
    if not image.strip():
        return "names no image"
    name, _, digest = image.partition("@")
    if digest:
        return (
            None
            if digest.startswith("sha256:") and len(digest) == len("sha256:") + 64
            else "has a malformed digest"
        )
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it runs whatever `latest` is at the next pull"
    tag = last.rsplit(":", 1)[1]
    if not TAG.fullmatch(tag):
        return f"has an invalid tag '{tag}'"
    if tag.lower() in FLOATING:
        return "runs the floating tag `latest`: what it runs changes at the next pull"
    return None


def check_images(state: DesiredState, homelab: Homelab) -> list[Finding]:
    """A finding for each container of an applied workload whose image is not pinned."""
    apps = tuple(a.name for a in homelab.apps)
    return [
        finding
        for owner, template in pod_templates(applied(state))
        if owner.origin.source != "cluster"
        for finding in _findings(state, homelab, apps, owner, template)
    ]


def _findings(
    state: DesiredState,
    homelab: Homelab,
    apps: tuple[str, ...],
    owner: DesiredObject,
    template: Mapping[str, Any],
) -> Iterator[Finding]:
    for container in containers(template):
        image = container.get("image")
        if image is not None and not isinstance(image, str):
            continue  # a wrong type is the schema check's finding
        problem = image_problem(image or "")
        if problem is None:
            continue
        name = str(container.get("name", "?"))
        config_path, hint = _fix(state, homelab, apps, owner, name)
        yield Finding(
            check="image",
            message=f"container {name} runs image '{image}', which {problem}",
            file=owner.origin.file,
            object=owner.ident,
            application=owner.origin.application,
            config_path=config_path,
            hint=hint,
        )


def _fix(
    state: DesiredState, homelab: Homelab, apps: tuple[str, ...], owner: DesiredObject, container: str
) -> tuple[str | None, str]:
    """The homelab.yaml path to change and how, for an unpinned image of `owner`'s `container`."""
    info = state.application(owner.origin.application)
    who = info.owner if info is not None else None
    if owner.origin.source == "manifest" and who not in apps:
        return None, "homelabeazy renders this manifest: pin the image in its renderer (a defect to report)"
    if who in apps:
        return (
            f"apps[{apps.index(who)}].chart.values",
            "pin a tag (or digest) for this image in the app's values",
        )
    entry = homelab.service(who) if who is not None else None
    if entry is None:
        return None, "pin a tag (or digest) for this image"
    for known in entry.image_values:
        if known.container == container:
            key = ".".join(known.path)
            return (
                f"services.{entry.name}.values.{key}.tag",
                f"set services.{entry.name}.values.{key}.tag to a released tag (or a digest)",
            )
    return f"services.{entry.name}.values", "set this image's tag (or digest) through the chart's values"
