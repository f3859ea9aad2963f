"""What is alerting now, what changed since the last notification, and what was notified.

An alert key names one thing that can alert: `target:<plan>:<target>:<year>`,
`portal_failed:<portal>`, `portal_stale:<portal>`, `deadline:<dag>:<run_id>`. Its state is
what the warehouse says now (`at_risk`, `missed`, `out_of_reach`, `failed`, `stale`, `late`,
or `ok`); `alert_state` keeps the last state seen. A message goes out when a key enters an
alerting state it was not in; a key going back to `ok` is recorded silently, so the next
relapse alerts again; a rerun that sees the same states sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, inspect, select

from egov.warehouse.schema import alert_state, etl_portal_run, mart_target_evaluation

if TYPE_CHECKING:
    from sqlalchemy import Connection, RowMapping

TARGET_ALERTS = ("at_risk", "missed", "out_of_reach")
STATUS_VI = {"at_risk": "có nguy cơ không đạt", "missed": "không đạt",
             "out_of_reach": "không còn khả năng đạt", "failed": "lỗi", "stale": "dữ liệu cũ",
             "late": "chưa xong đúng giờ", "ok": "bình thường"}


@dataclass(frozen=True)
class Observation:
    key: str
    kind: str
    subject: str
    state: str
    message: str

    @property
    def alerting(self) -> bool:
        return self.state != "ok"


@dataclass(frozen=True)
class Change:
    observation: Observation
    previous: str | None
    silenced: bool

    @property
    def notify(self) -> bool:
        return self.observation.alerting and not self.silenced

    def as_dict(self) -> dict[str, Any]:
        o = self.observation
        return {"key": o.key, "kind": o.kind, "subject": o.subject, "state": o.state,
                "previous": self.previous, "message": o.message}


def _fmt_pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.2f}%"


def target_observations(conn: Connection, as_of: date) -> list[Observation]:
    """Targets of the running year and the year just ended, for plans whose latest
    evaluation is `as_of` (a recompute of a past day changes no alert)."""
    t = mart_target_evaluation
    columns = {c["name"] for c in inspect(conn).get_columns(t.name)}
    latest = dict(conn.execute(select(t.c.plan_code, func.max(t.c.as_of_date))
                               .group_by(t.c.plan_code)).all())
    rows = conn.execute(select(t).where(t.c.as_of_date == as_of,
                                        t.c.year >= as_of.year - 1)).mappings().all()
    out = []
    for r in rows:
        if latest.get(r["plan_code"]) != as_of:
            continue
        outlook = r.get("outlook") if "outlook" in columns else None
        if outlook == "out_of_reach":
            state = "out_of_reach"
        elif r["status"] in ("at_risk", "missed"):
            state = r["status"]
        else:
            state = "ok"
        figures = (f"{_fmt_pct(r['value_pct'])} ({r['numerator']}/{r['denominator']})"
                   if r["denominator"] is not None else "—")
        needed = ""
        if outlook and r.get("needed_share_pct") is not None:
            needed = f"; phần còn lại của năm cần {_fmt_pct(r['needed_share_pct'])} hồ sơ đạt"
        message = (f"[{r['plan_code']}] {r['target_code']} năm {r['year']}: "
                   f"{STATUS_VI.get(state, state)} — {figures}, mục tiêu {r['comparator']} "
                   f"{float(r['threshold_pct']):g}%{needed}, số liệu đến {as_of:%d/%m/%Y}. "
                   f"“{r['clause']}”")
        out.append(Observation(f"target:{r['plan_code']}:{r['target_code']}:{r['year']}",
                               "target", f"{r['plan_code']}/{r['target_code']}/{r['year']}",
                               state, message))
    return out


def portal_failure_observations(conn: Connection, run_id: str) -> list[Observation]:
    """Each portal of the run: `failed` or `ok` (the error stays in the task log)."""
    rows = conn.execute(select(etl_portal_run.c.portal_code, etl_portal_run.c.status)
                        .where(etl_portal_run.c.run_id == run_id)).all()
    return [Observation(f"portal_failed:{code}", "portal_failed", code,
                        "failed" if status == "failed" else "ok",
                        f"Cổng {code}: lượt chạy {run_id} thất bại — xem log của tác vụ "
                        f"portal.extract / portal.load trong Airflow.")
            for code, status in rows]


def portal_stale_observations(conn: Connection, portals: list[str], now: datetime,
                              max_age_hours: int) -> list[Observation]:
    """Each configured portal: `stale` when its last successful load is older than
    `max_age_hours` (or never happened), else `ok`."""
    r = etl_portal_run
    last = dict(conn.execute(select(r.c.portal_code, func.max(r.c.finished_at))
                             .where(r.c.status == "loaded").group_by(r.c.portal_code)).all())
    out = []
    for code in portals:
        when = last.get(code)
        stale = when is None or now - when > timedelta(hours=max_age_hours)
        since = "chưa từng nạp thành công" if when is None else \
            f"lần nạp thành công gần nhất {when:%d/%m/%Y %H:%M}"
        out.append(Observation(f"portal_stale:{code}", "portal_stale", code,
                               "stale" if stale else "ok",
                               f"Cổng {code}: dữ liệu cũ hơn {max_age_hours} giờ ({since})."))
    return out


def changes(conn: Connection, observations: list[Observation], now: datetime) -> list[Change]:
    """The observations whose state differs from the one recorded (or new keys)."""
    from egov.serve.alerts.settings import silenced_by_setting

    keys = [o.key for o in observations]
    known: dict[str, RowMapping] = {}
    row: RowMapping | None
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for row in conn.execute(select(alert_state).where(alert_state.c.alert_key.in_(chunk))
                                ).mappings():
            known[row["alert_key"]] = row
    out = []
    for o in observations:
        row = known.get(o.key)
        previous = row["state"] if row else None
        if previous == o.state or (previous is None and not o.alerting):
            continue  # unchanged, or first seen and fine: nothing to say
        silenced = silenced_by_setting(o.key) or bool(
            row and row["silenced_until"] and row["silenced_until"] > now)
        out.append(Change(o, previous, silenced))
    return out


def record(conn: Connection, changed: list[Change], *, now: datetime, run_id: str | None,
           notified: bool) -> None:
    """Store the new states (`notified_at` set for those a message went out for)."""
    from egov.warehouse.upsert import upsert

    rows = [{"alert_key": c.observation.key, "kind": c.observation.kind,
             "subject": c.observation.subject, "state": c.observation.state,
             "alerting": c.observation.alerting, "message": c.observation.message[:4000],
             "changed_at": now, "notified_at": now if (notified and c.notify) else None,
             "run_id": run_id} for c in changed]
    if rows:
        upsert(conn, alert_state, rows, ["alert_key"])


def silence(conn: Connection, pattern: str, until: datetime | None, who: str | None) -> int:
    """Silence the recorded keys matching `pattern` (fnmatch) until `until` (None: lift)."""
    import fnmatch

    keys = [k for k in conn.execute(select(alert_state.c.alert_key)).scalars()
            if fnmatch.fnmatchcase(k, pattern)]
    for key in keys:
        conn.execute(alert_state.update().where(alert_state.c.alert_key == key)
                     .values(silenced_until=until, silenced_by=who if until else None))
    return len(keys)
