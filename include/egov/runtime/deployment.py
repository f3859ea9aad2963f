"""The distributed deployment's settings (include/config/deployment.yaml) and its start-up step.

    python -m egov.runtime.deployment init     # create the extraction pool if missing, check connections

docker-compose.yaml's airflow-init runs `init`; the native distributed test runs it too.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path
from typing import Any

from egov.settings import INCLUDE_DIR, ConfigError, env_number, load_portals

SETTINGS_FILE = INCLUDE_DIR / "config" / "deployment.yaml"


def load_settings(path: Path | None = None) -> dict[str, Any]:
    """deployment.yaml, checked for the sections every reader relies on."""
    import yaml

    path = Path(path or SETTINGS_FILE)
    doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, kind in (("components", list), ("airflow", dict), ("shared", list), ("pipeline", dict),
                      ("extract_pool", dict), ("connections", list), ("workers", dict)):
        if not isinstance(doc.get(key), kind):
            raise ConfigError(f"{path}: {key}: must be a {kind.__name__}")
    if not isinstance(doc["workers"].get("queues"), list) or not doc["workers"]["queues"]:
        raise ConfigError(f"{path}: workers.queues: must be a non-empty list")
    return doc


def worker_hostname() -> str:
    """`[core] hostname_callable` for several workers on one machine: EGOV_WORKER_HOSTNAME,
    else the machine's name (what Airflow records as a task instance's hostname)."""
    return os.environ.get("EGOV_WORKER_HOSTNAME") or socket.getfqdn()


def extract_pool_name(settings: dict[str, Any]) -> str:
    return os.environ.get("EGOV_EXTRACT_POOL") or settings["pipeline"]["EGOV_EXTRACT_POOL"]


def ensure_extract_pool(settings: dict[str, Any]) -> str:
    """Create the extraction pool when it does not exist; an existing one is left alone.
    Needs the metadata database (run it where `airflow db migrate` runs)."""
    from airflow.models.pool import Pool

    name, spec = extract_pool_name(settings), settings["extract_pool"]
    if Pool.get_pool(name) is not None:
        return f"pool {name} exists, left unchanged"
    slots = env_number("EGOV_PORTAL_POOL_SLOTS", spec["slots"], minimum=1)
    Pool.create_or_update_pool(name, slots, spec.get("description", ""), False)
    return f"pool {name} created with {slots} slots"


def missing_connections(settings: dict[str, Any]) -> list[str]:
    """Connections the tasks need that neither the environment nor the metadata DB has."""
    from airflow.exceptions import AirflowNotFoundException
    from airflow.models.connection import Connection

    wanted = list(settings["connections"]) + [p.conn_id for p in load_portals()]
    missing = []
    for conn_id in dict.fromkeys(wanted):
        try:
            Connection.get_connection_from_secrets(conn_id)
        except AirflowNotFoundException:
            missing.append(conn_id)
    return missing


def init(settings: dict[str, Any]) -> int:
    print(ensure_extract_pool(settings))
    missing = missing_connections(settings)
    if missing:  # a warning: portals may be configured after the first start
        print(f"WARNING: connections not configured yet: {', '.join(missing)} "
              "(AIRFLOW_CONN_<ID> in .env, or a secrets backend)")
    else:
        print("connections: all configured")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["init"])
    parser.add_argument("--settings", type=Path, help="default: include/config/deployment.yaml")
    args = parser.parse_args(argv)
    if args.settings is not None and not args.settings.is_file():
        parser.error(f"--settings: no deployment file at {args.settings}")
    try:
        settings = load_settings(args.settings)
    except (OSError, ValueError, ConfigError) as exc:  # unreadable, not YAML, incomplete
        print(f"error: deployment settings: {exc}", file=sys.stderr)
        return 2
    return init(settings)


if __name__ == "__main__":
    sys.exit(main())
