"""gethomepage's Homepage (jameswynn/helm-charts `homepage`).

Since Homepage v1.0 its API answers 400 "Host validation failed" to any Host header that is not
`localhost:3000`, `127.0.0.1:3000` or listed, comma-separated and exact, in
`HOMEPAGE_ALLOWED_HOSTS`; every widget and service tile goes through that API, so the dashboard is
empty behind Traefik. Chart 2.x declares the variable with a null value (rendered `<nil>`), so it
must be given. Traefik passes the client's Host unchanged (no port on 443): the route hosts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from homelabeazy.desired.effective import Effective, containers, env_source, env_text, workloads
from homelabeazy.desired.outcomes import Breach, Outcome
from homelabeazy.model.catalog.apps.base import AppFacts, KnownChart, Values, with_env

ALLOWED_HOSTS = "HOMEPAGE_ALLOWED_HOSTS"


def complete(values: Values, facts: AppFacts) -> Values:
    """Allow the app's route hosts, unless the user's values set the variable themselves."""
    if not facts.hosts:
        return values  # not routed: only reachable by port-forward, as localhost:3000
    return with_env(values, ALLOWED_HOSTS, ",".join(facts.hosts))


def _hosts_allowed(hosts: tuple[str, ...]) -> Callable[[Effective], Iterator[Breach]]:
    """Every container that sets the variable lets the route hosts in (`*` lets every host in)."""

    def test(view: Effective) -> Iterator[Breach]:
        found = False
        for obj in workloads(view):
            for container in containers(obj, init=False):
                if env_source(view, obj, container, ALLOWED_HOSTS).kind == "unset":
                    continue
                found = True
                text = env_text(view, obj, container, ALLOWED_HOSTS)
                allowed = {h.strip() for h in (text or "").split(",")}
                missing = [h for h in hosts if h not in allowed and "*" not in allowed]
                if text is not None and missing:
                    yield Breach(
                        f"{ALLOWED_HOSTS} of {obj.kind} {obj.name} leaves out {', '.join(missing)}", obj
                    )
        if not found:
            yield Breach(f"no container sets {ALLOWED_HOSTS}")

    return test


def outcomes(facts: AppFacts) -> Iterator[Outcome]:
    """Behind its route, Homepage answers for the route's host."""
    if facts.hosts:
        yield Outcome(
            f"Homepage's API answers requests for {', '.join(facts.hosts)} (else the dashboard is empty "
            "behind Traefik)",
            _hosts_allowed(facts.hosts),
        )


CHART = KnownChart("homepage", frozenset({"https://jameswynn.github.io/helm-charts"}), complete, outcomes)
