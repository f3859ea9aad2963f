"""A secrets backend that is down (configured by tests through AIRFLOW__SECRETS__BACKEND)."""

from airflow.secrets import BaseSecretsBackend


class FailingBackend(BaseSecretsBackend):
    def get_conn_value(self, conn_id: str, team_name: str | None = None):
        raise ConnectionError("secrets store unreachable")

    def get_connection(self, conn_id: str, team_name: str | None = None):
        raise ConnectionError("secrets store unreachable")
