"""Run the four simulated portals until SIGTERM/SIGINT.

    python -m egov.simulator --seed 7 --scale 1000 --clock 2025-12-31T23:00 \\
        --host 127.0.0.1 --base-port 18081 --connections-file /tmp/portals.env

Each portal gets a random password at start-up (username = portal code). The connections
file holds ``export AIRFLOW_CONN_PORTAL_<CODE>='http://<user>:<pw>@host:port'`` lines (mode
0600); passwords are never printed or logged.

Faults (egov.simulator.faults): ``--faults 'binh-dinh:429=0.1,5xx=0.05;tay-ninh:all'`` (or
the environment variable EGOV_SIM_FAULTS; the flag wins), seeded by ``--fault-seed N`` (or
EGOV_SIM_FAULT_SEED). ``*:all`` puts every fault on every portal; ``vinh-phuc:down`` keeps a
portal from listening. Each portal's fault counts are printed when the simulator stops (and
served at ``GET /_sim/faults``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import threading
import time
from datetime import date, datetime
from urllib.parse import quote

from egov.simulator.faults import parse_faults
from egov.simulator.server import SimulatorFleet
from egov.simulator.units import portal_codes
from egov.simulator.world import build_world


def conn_id(portal: str) -> str:
    """Airflow connection id of a portal: ``portal_binh_dinh``."""
    return "portal_" + portal.replace("-", "_")


def connections_env(fleet: SimulatorFleet) -> str:
    lines = []
    for code in fleet.portals:
        user, pw = fleet.credentials[code]
        url = (f"http://{quote(user, safe='')}:{quote(pw, safe='')}@{fleet.host}:"
               f"{fleet.port(code)}")
        lines.append(f"export AIRFLOW_CONN_{conn_id(code).upper()}='{url}'")
    return "\n".join(lines) + "\n"


def dvcqg_env(world, base_url: str, folder: str) -> str:
    """The simulated index's connection, provinces file and crosswalk (provinces and
    departments confirmed; communes and districts left as proposals)."""
    from egov.simulator.dvcqg import crosswalk_yaml, provinces_yaml

    provinces = os.path.join(folder, "dvcqg_provinces.yaml")
    crosswalk = os.path.join(folder, "dvcqg_crosswalk.yaml")
    with open(provinces, "w", encoding="utf-8") as f:
        f.write(provinces_yaml(world, "dvcqg_sim"))
    with open(crosswalk, "w", encoding="utf-8") as f:
        f.write(crosswalk_yaml(world))
    conn = json.dumps({"conn_type": "http", "host": base_url})
    return (f"export AIRFLOW_CONN_DVCQG_SIM='{conn}'\n"
            f"export EGOV_DVCQG_FILE='{provinces}'\n"
            f"export EGOV_DVCQG_CROSSWALK_FILE='{crosswalk}'\n")


def _parse_clock(s: str) -> datetime:
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d", "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"bad clock {s!r} (use 2025-12-31T23:00)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m egov.simulator", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=int, default=1000,
                    help="records per province per year (default 1000)")
    ap.add_argument("--clock", type=_parse_clock, default=datetime(2025, 12, 31, 23, 0),
                    help="simulated local time (Asia/Ho_Chi_Minh), e.g. 2025-12-31T23:00")
    ap.add_argument("--history-start", type=date.fromisoformat, default=date(2021, 1, 1))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--base-port", type=int, default=18081)
    ap.add_argument("--connections-file", required=True)
    ap.add_argument("--malformed-rate", type=float, default=0.0)
    ap.add_argument("--session-ttl", type=float, default=1800)
    ap.add_argument("--verbose", action="store_true", help="log every request")
    ap.add_argument("--faults", default=os.environ.get("EGOV_SIM_FAULTS") or None,
                    metavar="SPEC", help="fault spec, e.g. 'binh-dinh:429=0.1,hang=0.02;"
                    "tay-ninh:all' (default: $EGOV_SIM_FAULTS)")
    ap.add_argument("--dvcqg-port", type=int, default=None,
                    help="port of the simulated 766 index (default: base port + 20; -1: off)")
    ap.add_argument("--dvcqg-unsynced", type=float,
                    default=float(os.environ.get("EGOV_SIM_DVCQG_UNSYNCED") or 0.03),
                    help="share of records that never reached the national portal, varied "
                         "per unit (0..2x; default $EGOV_SIM_DVCQG_UNSYNCED or 0.03)")
    ap.add_argument("--fault-seed", type=int,
                    default=int(os.environ.get("EGOV_SIM_FAULT_SEED") or 0),
                    help="seed of the injected faults (default: $EGOV_SIM_FAULT_SEED or 0)")
    args = ap.parse_args(argv)
    try:
        faults = parse_faults(args.faults, portal_codes())
    except ValueError as e:
        ap.error(f"--faults: {e}")
    stop = threading.Event()  # set by SIGTERM/SIGINT, even during start-up
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    world = build_world(seed=args.seed, scale=args.scale, clock=args.clock,
                        history_start=args.history_start, malformed_rate=args.malformed_rate)
    t0 = time.perf_counter()
    world.prepare()
    gen_s = time.perf_counter() - t0
    credentials = {code: (code, secrets.token_urlsafe(18)) for code in portal_codes()}
    fleet = SimulatorFleet(world, host=args.host, base_port=args.base_port,
                           credentials=credentials, session_ttl=args.session_ttl,
                           quiet=not args.verbose)
    fleet.apply_faults(faults, seed=args.fault_seed)
    fleet.start()
    index = None
    dvcqg_port = args.dvcqg_port if args.dvcqg_port is not None else (
        args.base_port + 20 if args.base_port else 0)
    if dvcqg_port >= 0:
        from egov.simulator.dvcqg import IndexServer

        index = IndexServer(world, host=args.host, port=dvcqg_port,
                            unsynced=args.dvcqg_unsynced).start()
    path = args.connections_file
    env = connections_env(fleet)
    if index is not None:
        env += dvcqg_env(world, index.base_url, os.path.dirname(os.path.abspath(path)))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(env)

    n = sum(world.record_count(c) for c in portal_codes())
    urls = " ".join(f"{c}={fleet.base_url(c)}" for c in portal_codes())
    if index is not None:
        urls += f" dvcqg={index.base_url}"
    print(f"egov portal simulator ready: {urls} records={n} generated_in={gen_s:.1f}s "
          f"clock={world.clock:%Y-%m-%dT%H:%M:%S} connections={path}", flush=True)
    for code, cfg in faults.items():
        print(f"faults {code}: {cfg.describe()} (seed {args.fault_seed})", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        fleet.stop()
        if index is not None:
            index.stop()
        for code in faults:
            counts = ",".join(f"{k}={v}" for k, v in sorted(fleet.fault_counts(code).items()))
            print(f"faults injected {code}: {counts or 'none'}", flush=True)
        print("egov portal simulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
