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
