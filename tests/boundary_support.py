"""Helpers for tests of the portal boundary: raw-zone windows written as the extract step
writes them, and the environment `egov.pipeline.load` reads."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

UNITS = [{"MaDonVi": "P", "TenDonVi": "Tỉnh", "MaDonViCha": None, "CapDonVi": "TINH"},
         {"MaDonVi": "C", "TenDonVi": "Xã", "MaDonViCha": "P", "CapDonVi": "XA"}]
PERSONAL = {"ChuHoSo": "Trần Thị Bích Ngọc", "SoGiayToChuHoSo": "079188001234",
            "SoDienThoai": "0987654321", "Email": "bich.ngoc@example.vn",
            "DiaChi": "45 Nguyễn Huệ, Quy Nhơn"}


# A value nested DEEP_LEVELS deep: write_window writes this text as `[[[...]]]` (json.dumps
# itself cannot write such a value).
DEEP = "__egov_deep_nesting__"
DEEP_LEVELS = 1500


def record(code: str, updated: str = "20250302100000", **change) -> dict:
    return {"MaHoSo": code, "MaDonVi": "C", "TrangThaiHoSo": 4, "KenhThucHien": 1,
            "NgayTiepNhan": "20250301080000", "NgayHenTra": "20250305170000",
            "NgayCapNhat": updated, "DanhSachLePhi": [], **change}


def write_window(root: Path, records: list, *, portal: str = "p", run_id: str = "run-1",
                 units: list | None = None, procedures: list | None = None, seq: int = 0,
                 windows: int = 1, received_at: str | None = None,
                 window_from: str = "2025-03-01T00:00:00") -> str:
    """A window's raw pages and manifest, as `egov.pipeline.extract` leaves them; with
    `received_at` (ISO, UTC) the pages look as if received then."""
    from egov.sources.raw_zone import PageWriter

    writer = PageWriter(portal, run_id, root=str(root), window=seq)
    for endpoint, data in (("/api/donvi", UNITS if units is None else units),
                           ("/api/tthc", procedures or []), ("/api/hoso", records)):
        body = json.dumps({"error_code": "0", "tongSo": len(data), "data": data},
                          allow_nan=True).replace(
            json.dumps(DEEP), "[" * DEEP_LEVELS + "]" * DEEP_LEVELS).encode()
        writer.on_page(endpoint, {}, 1, 200, body)
    if received_at:
        for page in writer.pages:
            page["received_at"] = received_at
    return writer.finish(extracted_at=datetime.now().isoformat(timespec="seconds"),
                         as_of="2025-03-02", seq=seq, windows=windows, full_refresh=False,
                         window_from=window_from, window_to=None,
                         client_stats={"retries": 0}, seconds=0.1)


def pipeline_env(url: str, tmp_path: Path) -> dict:
    return {"AIRFLOW_CONN_EGOV_WAREHOUSE": url, "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "EGOV_DATA_DOCS": "false", "EGOV_PII_KEY": "boundary-test-key-0123",
            "EGOV_RAW_DIR": str(tmp_path / "raw"), "EGOV_MAX_REJECTED_SHARE": "1"}


def engine_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)
