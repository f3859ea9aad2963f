"""The Airflow hook of the reported-figures inbox: `get_conn()` returns its client."""

from __future__ import annotations

from airflow.sdk import BaseHook

from egov.sources.reported.client import CONN_ID, InboxClient, connection_dir, setting_dir


class ReportedInboxHook(BaseHook):
    """The inbox folder of reported files, like Airflow's FSHook: a connection of type `fs`
    whose extra holds `path` (default conn id `egov_reported_inbox`); without one, the
    setting EGOV_REPORTED_DIR (default $AIRFLOW_HOME/egov_reported)."""

    conn_name_attr = "fs_conn_id"
    default_conn_name = CONN_ID
    conn_type = "fs"
    hook_name = "Reported figures inbox (egov)"

    def __init__(self, fs_conn_id: str = CONN_ID) -> None:
        super().__init__()
        self.fs_conn_id = fs_conn_id

    def get_path(self) -> str:
        return str(connection_dir(self.fs_conn_id) or setting_dir())

    def get_conn(self) -> InboxClient:
        return InboxClient(self.get_path())
