"""A real distributed Airflow on this machine: API server, scheduler, dag-processor, triggerer
and Celery workers (Redis broker, PostgreSQL metadata DB), each its own process group, with
the settings of include/config/deployment.yaml, as docker-compose.yaml runs them.
Component logs go to `<workdir>/logs/<component>.log`, task logs to `<workdir>/home/logs`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

from tests.conftest import create_pg_database, drop_pg_database
from tests.e2e_support import AIRFLOW, REPO, airflow_env

REDIS_URL = os.environ.get("EGOV_TEST_REDIS_URL", "redis://127.0.0.1:6379")
REDIS_DBS = range(15, 7, -1)  # DB numbers the tests may claim; 0-7 are left to others
ADMIN = "operator"
WORKER = "celery worker"
SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"

# Test-only timings: a dead worker's task is noticed in seconds, not minutes; nothing else
# differs from the deployment settings.
FAST = {
    "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",  # a task a dead worker took, unstarted
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "15",
    "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
    "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
    "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
    "AIRFLOW__API__WORKERS": "1",
    # Runs are triggered by the test only: no scheduled run of "today" next to them.
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
}


def component_env(settings: dict, shared: dict, home: Path, extra: dict) -> dict:
    """The environment of every component: deployment.yaml's settings, the deployment's
    shared values (one for all), a SimpleAuthManager user, the test's timings and `extra`."""
    assert set(shared) == set(settings["shared"]), "deployment.yaml `shared` changed"
    fixed = {*settings["airflow"], *settings["shared"], *settings["pipeline"]}
    assert not fixed & {*FAST, *extra}, f"the test may not override {fixed & {*FAST, *extra}}"
    return {
        **airflow_env(home),
        **settings["airflow"], **shared, **settings["pipeline"],
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        **FAST, **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def claim_redis_db(owner: str) -> int:
    """A Redis DB number of our own (a lock key with a TTL), emptied of anything else."""
    import redis

    for number in REDIS_DBS:
        client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
        if client.set("egov:test-lock", owner, nx=True, ex=3600):
            for key in client.scan_iter():
                if key != b"egov:test-lock":
                    client.delete(key)
            client.close()
            return number
        client.close()
    raise RuntimeError(f"no free Redis DB among {list(REDIS_DBS)} at {REDIS_URL}")


def release_redis_db(number: int) -> None:
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL}/{number}")
    client.flushdb()
    client.close()


class Cluster:
    """Start with `start()`, add workers with `start_worker()`, end with `stop()`."""

    def __init__(self, workdir: Path, settings: dict, extra_env: dict):
        self.workdir = workdir
        self.home = workdir / "home"
        self.logs = workdir / "logs"
        self.settings = settings
        self.extra_env = extra_env
        self.procs: dict[str, subprocess.Popen] = {}
        self.metadata_url: str | None = None
        self.redis_db: int | None = None
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.password = uuid.uuid4().hex
        self.env: dict = {}
        self.warehouse_url: str | None = None  # for the tests' own use

    def save_artefacts(self) -> Path:
        """Copy component and task logs to $EGOV_TEST_ARTIFACTS or tests/artifacts/
        (git-ignored) for a failed run."""
        import shutil

        folder = Path(os.environ.get("EGOV_TEST_ARTIFACTS") or REPO / "tests" / "artifacts")
        target = folder / f"distributed-{time.strftime('%Y%m%dT%H%M%S')}"
        shutil.copytree(self.logs, target / "components", dirs_exist_ok=True)
        if (self.home / "logs").exists():
            shutil.copytree(self.home / "logs", target / "tasks", dirs_exist_ok=True)
        return target

    # ---- lifecycle ----
    def start(self, workers: dict[str, int]) -> None:
        """Migrate the metadata DB, then start every component and the workers ({name:
        concurrency}) at once, the deployment's start-up step beside them; return when the
        API server answers, the workers are ready and the start-up step succeeded."""
        from cryptography.fernet import Fernet

        self.home.mkdir(parents=True)
        self.logs.mkdir(parents=True)
        self.metadata_url = create_pg_database("egov_airflow")
        self.redis_db = claim_redis_db(str(self.workdir))
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({ADMIN: self.password}))
        shared = {  # every entry of deployment.yaml `shared`, one value for every component
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": f"{REDIS_URL}/{self.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{self.metadata_url}",
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
            "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
        }
        self.env = component_env(self.settings, shared, self.home, {
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            **self.extra_env})
        self._run("db-migrate", [AIRFLOW, "db", "migrate"])
        self._spawn("deployment-init", [str(Path(AIRFLOW).with_name("python")), "-m",
                                        "egov.runtime.deployment", "init"])
        options = {"api-server": ["--host", "127.0.0.1", "--port", str(self.port)],
                   "scheduler": ["--skip-serve-logs"], "dag-processor": [],
                   "triggerer": ["--skip-serve-logs"]}
        assert set(options) | {WORKER} == set(self.settings["components"])
        for component, args in options.items():
            self._spawn(component, [AIRFLOW, component, *args])
        for name, concurrency in workers.items():
            self.start_worker(name, concurrency=concurrency)
        init = self.procs.pop("deployment-init")
        assert init.wait(timeout=300) == 0, f"deployment init failed\n{self.tails()}"
        self._wait(self._health_ok, 180, "the API server to answer")
        self.wait_workers_ready(list(workers))

    def start_worker(self, name: str, *, concurrency: int) -> None:
        """A Celery worker serving deployment.yaml's queues; the task instances it runs carry
        `name` as hostname (egov.runtime.deployment.worker_hostname)."""
        queues = ",".join(self.settings["workers"]["queues"])
        self._spawn(name, [AIRFLOW, *WORKER.split(), "--celery-hostname", f"{name}@%h",
                           "--queues", queues, "--concurrency", str(concurrency),
                           "--skip-serve-logs"],
                    env={"EGOV_WORKER_HOSTNAME": name,
                         "AIRFLOW__CORE__HOSTNAME_CALLABLE": "egov.runtime.deployment.worker_hostname"})

    def wait_workers_ready(self, names, timeout=180) -> None:
        def ready():
            return all(" ready." in self.log_text(n) for n in names)
        self._wait(ready, timeout, f"workers {', '.join(names)} to be ready")

    def kill(self, name: str) -> None:
        """SIGKILL the component's whole process group, as if its machine died."""
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if self.redis_db is not None:
            release_redis_db(self.redis_db)
        if self.metadata_url:
            drop_pg_database(self.metadata_url)

    # ---- helpers ----
    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def tails(self, lines: int = 40) -> str:
        """The end of every component's log, for assertion messages."""
        out = [f"component logs: {self.logs}; task logs: {self.home / 'logs'}"]
        for name in self.procs:
            text = self.log_text(name).splitlines()[-lines:]
            out.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def _spawn(self, name: str, cmd: list[str], env: dict | None = None) -> None:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            cmd, env={**self.env, **(env or {})}, cwd=self.workdir, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def _run(self, name: str, cmd: list[str]) -> None:
        proc = subprocess.run(cmd, env=self.env, cwd=REPO, capture_output=True, text=True,
                              timeout=300)
        (self.logs / f"{name}.log").write_text(proc.stdout + proc.stderr)
        assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"

    def _health_ok(self) -> bool:
        import requests

        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited ({proc.returncode})\n{self.tails()}")
        try:
            return requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).ok
        except requests.RequestException:
            return False

    def _wait(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{self.tails()}")

    # ---- REST API, as a real user ----
    def api(self) -> ApiClient:
        return ApiClient(self.base_url, ADMIN, self.password)


class ApiClient:
    """Airflow's public REST API v2 with a user's JWT from /auth/token."""

    def __init__(self, base_url: str, username: str, password: str):
        import requests

        self.base = base_url
        self.session = requests.Session()
        resp = self.session.post(f"{base_url}/auth/token",
                                 json={"username": username, "password": password}, timeout=30)
        assert resp.status_code in (200, 201), f"/auth/token: {resp.status_code} {resp.text}"
        self.session.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"

    def request(self, method: str, path: str, **kwargs):
        resp = self.session.request(method, f"{self.base}/api/v2{path}", timeout=30, **kwargs)
        assert resp.ok, f"{method} {path}: {resp.status_code} {resp.text[:2000]}"
        return resp.json()

    def get(self, path: str, **params):
        return self.request("GET", path, params=params or None)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        body = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
        return body["task_instances"]

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int) -> list[dict]:
        body = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/"
                        f"{map_index}/tries")
        return body["task_instances"]
