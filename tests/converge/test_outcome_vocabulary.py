"""The outcome vocabulary on hand-built objects: how a pod's environment, flags and scheduling are
read, what each builder calls a breach, and how the culprit of a breach is searched (issue 26)."""

from __future__ import annotations

from typing import Any

import pytest

from homelabeazy.cli.deep_output import config_steps
from homelabeazy.converge.outcomes import culprits
from homelabeazy.desired.effective import (
    Effective,
    NodeFacts,
    cpu_millis,
    env_source,
    env_text,
    memory_bytes,
    node_fits,
    pod_requests,
)
from homelabeazy.desired.outcomes import (
    confined,
    env_from_secret,
    flag_values,
    flags_hold,
    persists,
    runs,
    service_shape,
)
from homelabeazy.desired.state import DesiredObject, Origin, SourceKind
from homelabeazy.model.catalog.overrides import dotted

NODES = (
    NodeFacts(
        "s1", {"kubernetes.io/hostname": "s1", "kubernetes.io/os": "linux", "role": "1"}, 2000, 4 * 2**30
    ),
    NodeFacts("a1", {"kubernetes.io/hostname": "a1", "kubernetes.io/os": "linux"}, 4000, 8 * 2**30),
)


def obj(doc: dict[str, Any], source: SourceKind = "chart", namespace: str | None = "ns") -> DesiredObject:
    return DesiredObject(doc, Origin("svc", 1, "chart-1.0.0/templates/x.yaml", source), namespace)


def deployment(name: str = "app", replicas: int | None = 1, **pod: Any) -> DesiredObject:
    spec: dict[str, Any] = {"template": {"spec": {"containers": [{"name": "c"}], **pod}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return obj({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec})


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "c", **fields}


def view(*objects: DesiredObject, keys: dict[tuple[str, str | None, str], Any] | None = None) -> Effective:
    return Effective("svc", "ns", objects, NODES, keys or {}, frozenset({"system-cluster-critical"}))


def whats(outcome: Any, effective: Effective) -> list[str]:
    return [b.what for b in outcome.breaches(effective)]


# ------------------------------------------------------------------------------- environment


def test_the_last_env_entry_wins_over_every_env_from() -> None:
    c = container(
        env=[
            {"name": "P", "value": "a"},
            {"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
        ],
        envFrom=[{"secretRef": {"name": "t"}}],
    )
    source = env_source(view(keys={("Secret", "ns", "t"): frozenset({"P"})}), deployment(), c, "P")
    assert (source.kind, source.name, source.key) == ("Secret", "s", "k")


def test_among_env_from_the_last_source_defining_it_wins() -> None:
    keys = {
        ("ConfigMap", "ns", "cm"): frozenset({"P"}),
        ("Secret", "ns", "ours"): frozenset({"P"}),
        ("Secret", "ns", "other"): frozenset({"Q"}),
    }
    c = container(
        envFrom=[
            {"configMapRef": {"name": "cm"}},
            {"secretRef": {"name": "ours"}},
            {"secretRef": {"name": "other"}},
        ]
    )
    assert env_source(view(keys=keys), deployment(), c, "P").name == "ours"
    # a source nothing makes defines nothing; a source with keys nobody knows may define anything
    c = container(envFrom=[{"secretRef": {"name": "ours"}}, {"secretRef": {"name": "missing"}}])
    assert env_source(view(keys=keys), deployment(), c, "P").name == "ours"
    keys[("Secret", "ns", "runtime")] = None
    c = container(envFrom=[{"secretRef": {"name": "ours"}}, {"secretRef": {"name": "runtime"}}])
    source = env_source(view(keys=keys), deployment(), c, "P")
    assert (source.name, source.maybe) == ("runtime", True)


def test_an_env_from_prefix_is_part_of_the_name() -> None:
    keys = {("Secret", "ns", "s"): frozenset({"PASSWORD"})}
    c = container(envFrom=[{"secretRef": {"name": "s"}, "prefix": "LDAP_"}])
    assert env_source(view(keys=keys), deployment(), c, "LDAP_PASSWORD").name == "s"
    assert env_source(view(keys=keys), deployment(), c, "PASSWORD").kind == "unset"


def test_env_text_reads_literals_config_maps_and_secret_data() -> None:
    config_map = obj(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"A": "x"}}
    )
    secret = obj({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"B": "YWRtaW4="}})
    keys = {("ConfigMap", "ns", "cm"): frozenset({"A"}), ("Secret", "ns", "s"): frozenset({"B"})}
    c = container(
        env=[{"name": "L", "value": "lit"}],
        envFrom=[{"configMapRef": {"name": "cm"}}, {"secretRef": {"name": "s"}}],
    )
    effective = view(config_map, secret, keys=keys)
    assert [env_text(effective, deployment(), c, v) for v in ("L", "A", "B", "Z")] == [
        "lit",
        "x",
        "admin",
        None,
    ]


def test_env_from_secret_names_where_the_variable_really_comes_from() -> None:
    outcome = env_from_secret("Deployment", "app", ("P",), "ours", what="the password")
    keys = {("Secret", "ns", "ours"): frozenset({"P"})}
    ok = deployment(containers=[container(envFrom=[{"secretRef": {"name": "ours"}}])])
    assert whats(outcome, view(ok, keys=keys)) == []
    literal = deployment(
        containers=[
            container(envFrom=[{"secretRef": {"name": "ours"}}], env=[{"name": "P", "value": "root"}])
        ]
    )
    assert whats(outcome, view(literal, keys=keys)) == [
        "P in container c of Deployment app comes from a literal value in the pod template"
    ]
    assert whats(outcome, view(deployment(), keys=keys)) == ["no container of Deployment app sets P"]


# ----------------------------------------------------------------------------- command lines


@pytest.mark.parametrize(
    ("words", "values"),
    [
        (["--a=1", "--b", "--A=2"], ["1", "2"]),
        (["-a", "3", "--x"], ["3"]),
        (["--a", "--b"], ["true"]),
        (["--ab=1", "a=2"], []),
    ],
)
def test_flag_values(words: list[str], values: list[str]) -> None:
    assert flag_values(words, "a") == values


def test_flags_hold_wants_exactly_the_values_and_no_forbidden_flag() -> None:
    outcome = flags_hold(
        "Deployment", "app", "c", {"source": ("crd",)}, forbidden=("providers.file",), what="only ours"
    )
    good = deployment(containers=[container(args=["--source=crd", "--providers.file.x=false"])])
    assert whats(outcome, view(good)) == []
    two = deployment(
        containers=[container(args=["--source=crd", "--source=service", "--providers.file.directory=/x"])]
    )
    assert whats(outcome, view(two)) == [
        "--source is crd, service, not crd",
        "--providers.file.directory=/x is given",
    ]
    assert whats(outcome, view(deployment())) == ["--source is not given, not crd"]


# ------------------------------------------------------------------------------- scheduling


@pytest.mark.parametrize(
    ("text", "millis"), [("500m", 500), ("2", 2000), ("0.5", 500), ("1e3", None), ("x", None)]
)
def test_cpu_quantities(text: str, millis: int | None) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "size"),
    [("512Mi", 512 * 2**20), ("1G", 10**9), ("1048576", 2**20), ("1.5Gi", int(1.5 * 2**30)), ("1X", None)],
)
def test_memory_quantities(text: str, size: int | None) -> None:
    assert memory_bytes(text) == size


def test_requests_sum_containers_and_take_the_largest_init_container() -> None:
    spec = {
        "containers": [
            {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
            {"resources": {"limits": {"cpu": "1"}}},
        ],
        "initContainers": [{"resources": {"requests": {"cpu": "3", "memory": "10Mi"}}}],
    }
    assert pod_requests(spec) == (3000, 2**30)


def test_a_node_fits_a_pod_by_labels_affinity_and_size() -> None:
    server, agent = NODES
    assert node_fits(server, {"nodeSelector": {"role": "1"}}) is None
    assert node_fits(agent, {"nodeSelector": {"role": "1"}}) == "nodeSelector role=1"

    def affinity(*terms: dict[str, Any]) -> dict[str, Any]:
        return {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}
                }
            }
        }

    def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
        return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}

    assert node_fits(agent, affinity(expression("role", "DoesNotExist"))) is None
    assert node_fits(agent, affinity(expression("role", "Exists"))) == "its required node affinity"
    assert (
        node_fits(
            agent, affinity(expression("role", "Exists"), expression("kubernetes.io/os", "In", "linux"))
        )
        is None
    )
    assert node_fits(server, affinity(expression("role", "Gt", "0"))) is None
    assert node_fits(
        server, affinity({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["a1"]}]})
    )
    assert node_fits(server, affinity({})) == "its required node affinity"  # an empty term matches nothing
    big = {"containers": [{"resources": {"requests": {"cpu": "3"}}}]}
    assert (node_fits(server, big), node_fits(agent, big)) == ("a request of 3000m CPU", None)
    huge = {"containers": [{"resources": {"requests": {"memory": "9Gi"}}}]}
    assert node_fits(agent, huge) == "a request of 9216Mi memory"


def test_runs_wants_the_workload_its_replicas_and_a_place_to_run() -> None:
    outcome = runs("Deployment", "app", 2)
    assert whats(outcome, view(deployment(replicas=2))) == []
    assert whats(outcome, view()) == ["there is no Deployment app"]
    assert whats(outcome, view(deployment(replicas=0))) == ["Deployment app runs 0 replicas, not 2"]
    assert whats(runs("Deployment", "app"), view(deployment(replicas=None))) == []
    odd = deployment(replicas=2, schedulerName="mine", priorityClassName="vip", nodeSelector={"zone": "x"})
    assert whats(outcome, view(odd)) == [
        "its pods wait for scheduler mine, which K3s does not run",
        "its pods name PriorityClass vip, which nothing makes (admission refuses them)",
        "no node of the homelab can run its pods (nodeSelector zone=x fits none)",
    ]


def test_persists_wants_a_claim_behind_the_path() -> None:
    outcome = persists("Deployment", "app", "/data", what="the data")
    mounted = [container(volumeMounts=[{"name": "d", "mountPath": "/data/"}])]
    claimed = deployment(
        containers=mounted, volumes=[{"name": "d", "persistentVolumeClaim": {"claimName": "x"}}]
    )
    assert whats(outcome, view(claimed)) == []
    empty = deployment(containers=mounted, volumes=[{"name": "d", "emptyDir": {}}])
    assert whats(outcome, view(empty)) == ["/data in Deployment app is volume d, which no claim backs"]
    assert whats(outcome, view(deployment())) == [
        "nothing is mounted at /data in Deployment app: a restart loses it"
    ]


# ---------------------------------------------------------------------------------- Services


def service(name: str, **spec: Any) -> DesiredObject:
    annotations = spec.pop("annotations", {})
    return obj(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "annotations": annotations},
            "spec": spec,
        }
    )


def test_service_shape_wants_the_type_the_ports_and_only_our_address() -> None:
    outcome = service_shape("lb", type_="LoadBalancer", ports=(443,), address="10.0.0.5", what="the address")
    ours = {"metallb.io/loadBalancerIPs": "10.0.0.5"}
    good = service("lb", type="LoadBalancer", ports=[{"port": 443}], annotations=ours)
    assert whats(outcome, view(good)) == []
    bad = service(
        "lb",
        type="ClusterIP",
        ports=[{"port": 80}],
        loadBalancerIP="10.0.0.6",
        loadBalancerClass="other",
        annotations={**ours, "metallb.io/address-pool": "p"},
    )
    assert whats(outcome, view(bad)) == [
        "Service lb is of type ClusterIP, not LoadBalancer",
        "Service lb has no port 443",
        "Service lb also asks for loadBalancerIP 10.0.0.6",
        "Service lb asks MetalLB for an address of pool p",
        "Service lb has loadBalancerClass other: MetalLB leaves it",
    ]


def test_confined_lets_in_only_what_the_homelab_declares() -> None:
    outcome = confined(load_balancers=("lb",), on_the_host=("speaker",))
    declared = [
        service("lb", type="LoadBalancer"),
        deployment("speaker", hostNetwork=True, hostPID=True),
        obj(
            {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "ours"}},
            "manifest",
        ),
    ]
    assert whats(outcome, view(*declared)) == []
    chart_route = obj(
        {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "dash"}}
    )
    policy = obj(
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "allow"}}
    )
    undeclared = [
        service("other", type="NodePort"),
        service("ips", externalIPs=["1.2.3.4"]),
        deployment("host", hostNetwork=True, hostIPC=True),
        deployment("port", containers=[container(ports=[{"containerPort": 80, "hostPort": 80}])]),
        chart_route,
        policy,
    ]
    assert whats(outcome, view(*undeclared)) == [
        "Service other is of type NodePort: reachable past Traefik and SSO",
        "Service ips answers on externalIPs ['1.2.3.4']",
        "Deployment host runs on the host network: outside the NetworkPolicies",
        "Deployment host runs with hostIPC: it shares the node's namespace",
        "Deployment port opens host port 80 on its node",
        "the chart adds its own route IngressRoute dash, outside the homelab's SSO",
        "the chart adds its own NetworkPolicy allow, beside the homelab's",
    ]


# ------------------------------------------------------------------------------ attribution


def search(
    values: dict[str, Any], breaking: set[tuple[str, ...]], budget: int = 99
) -> tuple[list[tuple[str, ...]], int]:
    """culprits() when a subset shows the breach iff it holds one of the `breaking` leaves."""
    calls = 0

    def leaves(node: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
        if isinstance(node, dict) and node:
            return {p for k, v in node.items() for p in leaves(v, (*prefix, k))}
        return {prefix}

    def shows(subsets: list[dict[str, Any]]) -> list[bool]:
        nonlocal calls
        calls += len(subsets)
        return [bool(leaves(s) & breaking) for s in subsets]

    return culprits(values, shows, lambda: calls < budget), calls


def test_the_culprit_is_the_most_specific_key_that_breaks_alone() -> None:
    values = {"server": {"extraArgs": "-dev", "podAnnotations": {"a": "b"}}, "injector": {"enabled": False}}
    found, calls = search(values, {("server", "extraArgs")})
    assert found == [("server", "extraArgs")]
    assert calls == 4  # two top-level keys, then server's two


def test_independent_culprits_are_each_found() -> None:
    values = {"server": {"extraArgs": "-dev", "dev": {"enabled": True}}, "ui": {"x": 1}}
    found, _ = search(values, {("server", "extraArgs"), ("server", "dev", "enabled")})
    assert found == [("server", "extraArgs"), ("server", "dev", "enabled")]


def test_keys_that_break_only_together_are_reported_at_their_parent() -> None:
    values = {"scoped": {"namespace": "x", "rbac": True}, "other": 1}

    def shows(subsets: list[dict[str, Any]]) -> list[bool]:
        return [s.get("scoped", {}).keys() >= {"namespace", "rbac"} for s in subsets]

    assert culprits(values, shows, lambda: True) == [("scoped",)]
    assert culprits({"a": 1, "b": 2}, lambda subsets: [False for _ in subsets], lambda: True) == [()]


def test_a_single_key_needs_no_render_and_the_budget_stops_the_search() -> None:
    found, calls = search({"global": {"existingSecret": {}}}, {("global", "existingSecret")})
    assert (found, calls) == ([("global", "existingSecret")], 0)
    found, calls = search({"a": {"x": 1, "y": 2}, "b": 1}, {("a", "x")}, budget=2)
    assert found == [("a",)]


@pytest.mark.parametrize(
    "path",
    [("configs", "params", "server.insecure"), ("a", "", "b"), ("x", 'a"b[0]', "c d"), ("ü", "é.x")],
)
def test_a_values_path_reads_back_from_its_dotted_text(path: tuple[str, ...]) -> None:
    assert config_steps(f"services.argocd.values.{dotted(path)}") == ["services", "argocd", "values", *path]
