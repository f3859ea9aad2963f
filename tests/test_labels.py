"""Labels the pages and reports show: the old "mức độ 3, 4" levels carry the current terms
of Nghị định 42/2022/NĐ-CP (một phần, toàn trình) beside them."""

from __future__ import annotations

from egov.compute.indicators.dictionary import ENTRIES
from egov.serve.pages.labels import indicator_name
from egov.serve.reports.labels import with_current_terms


def test_every_old_level_label_names_the_current_terms():
    old = [e for e in ENTRIES if "mức độ 3, 4" in e.name_vi]
    assert len(old) >= 3
    for entry in old:
        shown = indicator_name(entry.code)
        assert "mức độ 3, 4" in shown, shown  # the plans' words stay
        assert "một phần" in shown and "toàn trình" in shown and "42/2022" in shown, shown
        assert shown.count("42/2022") == 1


def test_labels_without_the_old_levels_are_unchanged():
    assert indicator_name("on_time_rate") == "Tỷ lệ hồ sơ giải quyết đúng hạn"
    assert with_current_terms(with_current_terms("DVC mức độ 3, 4")) == with_current_terms(
        "DVC mức độ 3, 4")


def test_index_targets_read_in_points_and_are_named():
    from egov.serve.pages.labels import pct, threshold
    from egov.serve.reports.labels import pct_vi, threshold_vi

    assert (pct(61.886, "points"), pct(61.886, "percent"), pct(61.886)) == (
        "61,89 điểm", "61,89%", "61,89%")
    assert (threshold(80, "points"), threshold(99.5)) == ("80 điểm", "99,5%")
    assert pct(None, "points") == threshold(None, "points") == "—"
    assert pct_vi(17.5, measure="points") == "17,50 điểm" and pct_vi(17.5) == "17,50%"
    assert threshold_vi(">=", 80, measure="points") == "≥ 80 điểm"
    assert threshold_vi(">", 50) == "> 50%"
    assert indicator_name("dvcqg:score") == "Chỉ số 766: tổng điểm"
    assert indicator_name("dvcqg:score:progress") == "Chỉ số 766: điểm nhóm «Tiến độ giải quyết»"
    assert indicator_name("dvcqg:online_payment") == "Chỉ số 766: tỉ lệ thanh toán trực tuyến"
    assert indicator_name("dvcqg:PUBLISH_ON_TIME") == "Chỉ số 766: PUBLISH_ON_TIME"
