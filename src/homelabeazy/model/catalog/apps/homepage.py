"""gethomepage's Homepage (jameswynn/helm-charts `homepage`).

Since Homepage v1.0 its API answers 400 "Host validation failed" to any Host header that is not
`localhost:3000`, `127.0.0.1:3000` or listed, comma-separated and exact, in
`HOMEPAGE_ALLOWED_HOSTS`; every widget and service tile goes through that API, so the dashboard is
empty behind Traefik. Chart 2.x declares the variable with a null value (rendered `<nil>`), so it
must be given. Traefik passes the client's Host unchanged (no port on 443): the route hosts.
"""

from __future__ import annotations

from homelabeazy.model.catalog.apps.base import AppFacts, KnownChart, Values, with_env

ALLOWED_HOSTS = "HOMEPAGE_ALLOWED_HOSTS"


def complete(values: Values, facts: AppFacts) -> Values:
    """Allow the app's route hosts, unless the user's values set the variable themselves."""
    if not facts.hosts:
        return values  # not routed: only reachable by port-forward, as localhost:3000
    return with_env(values, ALLOWED_HOSTS, ",".join(facts.hosts))


CHART = KnownChart("homepage", frozenset({"https://jameswynn.github.io/helm-charts"}), complete)
