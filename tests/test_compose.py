"""docker-compose.yaml is valid Compose and runs what the native distributed test proves:
the executor settings, shared secrets and Execution API URL, pool, connections and queues of
include/config/deployment.yaml, in every Airflow component. (No Docker here: the file is
interpolated as Compose does and validated against the Compose Specification schema.)"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.compose_support import (
    ENV_EXAMPLE,
    command_words,
    environment,
    load_compose,
    read_env_file,
    schema_errors,
)
from tests.distributed_support import FAST, component_env

SECRETS = {"AIRFLOW_DB_PASSWORD", "FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
           "AIRFLOW__API__SECRET_KEY", "_AIRFLOW_WWW_USER_PASSWORD", "EGOV_WAREHOUSE_PASSWORD",
           "EGOV_PII_KEY"}


@pytest.fixture(scope="module")
def settings():
    from egov.runtime.deployment import load_settings

    return load_settings()


@pytest.fixture(scope="module")
def compose():
    doc, missing, _ = load_compose(read_env_file())
    assert missing == [], missing
    return doc


def _components(compose, settings) -> dict[str, list[tuple[str, dict]]]:
    """{component sub-command: [(service name, service)]} for the Airflow components."""
    found: dict[str, list] = {c: [] for c in settings["components"]}
    for name, service in compose["services"].items():
        words = " ".join(command_words(service))
        for component in settings["components"]:
            if words == component or words.startswith(component + " "):
                found[component].append((name, service))
    return found


def test_interpolation_follows_compose_rules():
    from tests.compose_support import interpolate

    env, missing, used = {"A": "1", "E": ""}, [], set()
    assert interpolate("$$A ${A} $A ${B:-x${A}} ${E:-d} ${E-d} ${A:+y} ${B+y}", env, missing,
                       used) == "$A 1 1 x1 d  y "
    interpolate("${E:?need E} ${B?need B} ${E?fine}", env, missing, used)
    assert missing == [("E", "need E"), ("B", "need B")]
    assert used == {"A", "B", "E"}


def test_compose_file_is_valid_against_the_compose_schema(compose):
    assert schema_errors(compose) == []
    services = compose["services"]
    volumes = set(compose.get("volumes") or {})
    for name, service in services.items():
        for target, spec in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if spec.get("condition") == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no health check"
            if "profiles" not in service:
                assert "profiles" not in services[target], f"{name} needs profiled {target}"
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{name}: volume {source} is not declared"


def test_secrets_are_required_and_every_variable_is_documented():
    _, missing, used = load_compose({})
    assert {name for name, _ in missing} == SECRETS
    documented = ENV_EXAMPLE.read_text(encoding="utf-8")
    undocumented = sorted(v for v in used if f"{v}=" not in documented)
    assert undocumented == []


def test_every_component_has_the_deployment_settings(compose, settings):
    components = _components(compose, settings)
    assert all(components.values()), {c: [n for n, _ in s] for c, s in components.items()}
    shared_values = {key: set() for key in settings["shared"]}
    for services in components.values():
        for name, service in services:
            env = environment(service)
            for key, value in {**settings["airflow"], **settings["pipeline"]}.items():
                assert env.get(key) == value, f"{name}: {key}={env.get(key)!r}, not {value!r}"
            for key in settings["shared"]:
                assert env.get(key), f"{name}: {key} is not set"
                shared_values[key].add(env[key])
            for conn_id in settings["connections"]:
                assert env.get(f"AIRFLOW_CONN_{conn_id.upper()}"), f"{name}: no {conn_id}"
    # One value for all: a component with another JWT secret or API URL cannot run tasks.
    assert {k: len(v) for k, v in shared_values.items()} == {k: 1 for k in settings["shared"]}

    # The Execution API URL is the API server's own service and container port.
    url = urlsplit(next(iter(shared_values["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])))
    (api_name, api), = components["api-server"]
    assert url.hostname == api_name and url.path == "/execution/"
    assert any(str(p).endswith(f":{url.port}") for p in api.get("ports", [])), api.get("ports")


def test_workers_serve_the_queues_the_dag_routes_to(compose, settings):
    queues = settings["workers"]["queues"]
    assert set(queues) == {settings["pipeline"]["EGOV_EXTRACT_QUEUE"],
                           settings["pipeline"]["EGOV_WAREHOUSE_QUEUE"]}
    # A task naming no queue (another DAG) still reaches a worker.
    assert settings["airflow"]["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] in queues
    for name, service in _components(compose, settings)["celery worker"]:
        words = command_words(service)
        assert "--queues" in words, f"{name} serves only the default queue"
        assert words[words.index("--queues") + 1].split(",") == queues


def test_start_up_creates_the_pool_and_checks_connections(compose, settings):
    init = compose["services"]["airflow-init"]
    script = "\n".join(command_words(init)) if isinstance(init.get("command"), str) \
        else "\n".join(init["command"])
    assert "python -m egov.runtime.deployment init" in script
    assert environment(init)["EGOV_PORTAL_POOL_SLOTS"] == str(settings["extract_pool"]["slots"])
    assert environment(init)["_AIRFLOW_DB_MIGRATE"] == "true"  # before the start-up step
    for services in _components(compose, settings).values():
        for name, service in services:
            assert service["depends_on"]["airflow-init"]["condition"] == \
                "service_completed_successfully", name


def test_native_test_runs_the_same_settings(settings, tmp_path):
    """The native cluster's environment is built from the same file; its test-only timings
    touch none of the deployment's settings."""
    shared = {key: f"value-of-{key}" for key in settings["shared"]}
    env = component_env(settings, shared, tmp_path, {})
    for key, value in {**settings["airflow"], **settings["pipeline"], **shared}.items():
        assert env[key] == value, key
    assert not set(FAST) & {*settings["airflow"], *settings["pipeline"], *settings["shared"]}
