"""The distributed deployment's settings (include/config/deployment.yaml) and its start-up step.

    python -m egov.deployment init     # create the pools when missing, check the connections

docker-compose.yaml's airflow-init runs `init`; the native distributed test runs it too.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from pathlib import Path

from egov.settings import INCLUDE_DIR, ConfigError, env_number, load_portals

log = logging.getLogger(__name__)

SETTINGS_FILE = INCLUDE_DIR / "config" / "deployment.yaml"


def load_settings(path: Path | None = None) -> dict:
    """deployment.yaml, checked for the sections every reader relies on."""
    import yaml

    path = Path(path or SETTINGS_FILE)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, kind in (("airflow", dict), ("shared", list), ("pipeline", dict), ("pools", dict),
                      ("connections", list), ("workers", dict)):
        if not isinstance(doc.get(key), kind):
            raise ConfigError(f"{path}: {key}: must be a {kind.__name__}")
    if not isinstance(doc["workers"].get("queues"), list) or not doc["workers"]["queues"]:
        raise ConfigError(f"{path}: workers.queues: must be a non-empty list")
    return doc


def worker_hostname() -> str:
    """`[core] hostname_callable` for several workers on one machine: EGOV_WORKER_HOSTNAME,
    else the machine's name (what Airflow records as a task instance's hostname)."""
    return os.environ.get("EGOV_WORKER_HOSTNAME") or socket.getfqdn()


def ensure_pools(settings: dict) -> list[str]:
    """Create the pools of the settings that do not exist yet; existing ones are left alone.
    Needs the metadata database (run it where `airflow db migrate` runs)."""
    from airflow.models.pool import Pool

    messages = []
    for name, spec in settings["pools"].items():
        if Pool.get_pool(name) is not None:
            messages.append(f"pool {name} exists, left unchanged")
            continue
        slots = env_number("EGOV_PORTAL_POOL_SLOTS", spec["slots"], minimum=1)
        Pool.create_or_update_pool(name, slots, spec.get("description", ""), False)
        messages.append(f"pool {name} created with {slots} slots")
    return messages


def missing_connections(settings: dict) -> list[str]:
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


def init(settings: dict) -> int:
    for message in ensure_pools(settings):
        print(message)
    missing = missing_connections(settings)
    if missing:  # a warning: portals may be configured after the first start
        print(f"WARNING: connections not configured yet: {', '.join(missing)} "
              "(AIRFLOW_CONN_<ID> in .env, or a secrets backend)")
    else:
        print("connections: all configured")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["init"])
    parser.add_argument("--settings", type=Path, help="default: include/config/deployment.yaml")
    args = parser.parse_args(argv)
    return init(load_settings(args.settings))


if __name__ == "__main__":
    sys.exit(main())
