"""A small live Airflow for tests: PostgreSQL metadata DB, LocalExecutor, and the API server
(execution API), scheduler and DAG processor as separate processes on free ports of
127.0.0.1, each with its own log; stopped (process group) by `stop()`."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.e2e_support import AIRFLOW


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env(base_env: dict, metadata_url: str, port: int) -> dict:
    return {
        **base_env,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
    }


class Process:
    def __init__(self, name: str, args: list[str], env: dict, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([AIRFLOW, *args], env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, n: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-n:]

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(timeout=10)
        self._log.close()


class Cluster:
    """`airflow api-server`, `scheduler` and `dag-processor` sharing one environment."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.port = int(env["AIRFLOW__API__PORT"])
        self.processes: list[Process] = []

    def cli(self, *args: str, timeout: int = 300) -> str:
        proc = subprocess.run([AIRFLOW, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, f"airflow {' '.join(args)}: " + (
            proc.stdout + proc.stderr)[-3000:]
        return proc.stdout

    def start(self) -> Cluster:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes = [
            Process("api-server", ["api-server", "--host", "127.0.0.1", "--port",
                                   str(self.port), "--workers", "1"], self.env, self.log_dir),
            Process("scheduler", ["scheduler", "--skip-serve-logs"], self.env, self.log_dir),
            Process("dag-processor", ["dag-processor"], self.env, self.log_dir),
        ]
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            self.check()
            try:
                url = f"http://127.0.0.1:{self.port}/api/v2/monitor/health"
                with urllib.request.urlopen(url, timeout=5):
                    return self
            except (urllib.error.URLError, OSError):
                time.sleep(1)
        raise RuntimeError("api-server did not answer: " + self.processes[0].tail())

    def check(self) -> None:
        for p in self.processes:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited:\n{p.tail()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.tail(2000)}" for p in self.processes)

    def stop(self) -> None:
        for p in reversed(self.processes):
            p.stop()
