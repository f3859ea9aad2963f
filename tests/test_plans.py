"""The shipped plan files (include/plans) against their seed texts (include/plans/sources),
and the plan validator."""

from __future__ import annotations

import copy
import re
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from egov.compute.indicators.codes import ALL_INDICATORS
from egov.compute.indicators.dvcqg import is_index_indicator
from egov.compute.plans import Plan, PlanError, default_plans_dir, load_plan_file, load_plans

REPO = Path(__file__).resolve().parent.parent
PLANS_DIR = REPO / "include" / "plans"
SOURCES_DIR = PLANS_DIR / "sources"  # the seed texts, named by each plan's `source` field

# plan code -> (portal, unit, seed file)
SHIPPED = {
    "tay-ninh-2021-2025": ("tay-ninh", "000.00.00.H52", "000_b9a4c4a909467334.txt"),
    "binh-dinh-2021": ("binh-dinh", "000.00.00.H08", "001_e22971975ce47eb7.txt"),
    "thanh-hoa-2024": ("thanh-hoa", "000.00.00.H56", "002_453a5dd02cf0c750.txt"),
    "vinh-phuc-skhdt-2021-2025": ("vinh-phuc", "000.00.05.H62", "003_31dc54ceac01e744.txt"),
    "tp-tay-ninh-2023": ("tay-ninh", "000.00.21.H52", "004_f9901e004a4d349d.txt"),
}

# The target sections of each seed: (start marker, end marker); every occurrence of the start
# marker opens a section that runs to the next end marker. Markers are matched in the seed text
# after whitespace normalisation.
SECTIONS = {
    "tay-ninh-2021-2025": [("3. Mục tiêu cụ thể", "Xem và tải Quyết định")],
    "binh-dinh-2021": [("a) Chỉ tiêu", "b) Nhiệm vụ và giải pháp")],  # seven subsections
    "thanh-hoa-2024": [
        ("Kế hoạch đề ra một số mục tiêu, chỉ tiêu cụ thể", "Kế hoạch đề ra các nội dung")
    ],
    "vinh-phuc-skhdt-2021-2025": [
        ("mục tiêu Kế hoạch đề ra như sau", "Để đạt được những mục tiêu trên"),
        ("Mục tiêu cụ thể công tác cải cách hành chính của Sở", "Các phòng chuyên môn"),
    ],
    "tp-tay-ninh-2023": [("Kế hoạch đề ra các mục tiêu", "Để đạt được các mục tiêu nêu trên")],
}
SECTION_COUNT = {"binh-dinh-2021": 7}

# Every percentage of those sections, in order: a dropped target or a moved marker shows here.
PERCENTAGES = {
    "tay-ninh-2021-2025": "100 90 100 100 10 100 50 50 100 90",
    "binh-dinh-2021": "100 30 30 100 100 100 20 100 100 80 60 50 10 30 10 20 100 80 100 100 "
    "60 70 60 40 50",
    "thanh-hoa-2024": "100 100 100 100 100 100 100 40",
    "vinh-phuc-skhdt-2021-2025": "100 100 100 80 30 30 20 100 80 80 50 90 90 80",
    "tp-tay-ninh-2023": "100 95 99 80 90",
}
# Percentages inside a target's clause that are not one of its thresholds (a ramp's yearly step).
NOT_THRESHOLDS = {"vinh-phuc-skhdt-2021-2025": ["mỗi năm tăng 20%"]}

PERCENT = re.compile(r"(\d+(?:[.,]\d+)?)\s*%")


def norm(text: str) -> str:
    """NFC, every run of whitespace (NBSP, line breaks) made one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def occurrences(text: str, needle: str) -> list[int]:
    return [m.start() for m in re.finditer(re.escape(needle), text)]


@pytest.fixture(scope="module")
def shipped() -> dict[str, Plan]:
    return {p.code: p for p in load_plans(PLANS_DIR)}


@pytest.fixture(scope="module")
def seed_text():
    return lambda plan: norm((SOURCES_DIR / plan.source).read_text(encoding="utf-8"))


# --- the shipped plans ----------------------------------------------------------------------


def test_every_shipped_plan_loads(shipped):
    assert set(shipped) == set(SHIPPED)
    for code, (portal, unit, source) in SHIPPED.items():
        plan = shipped[code]
        assert (plan.portal, plan.unit, plan.source) == (portal, unit, source)
        assert plan.title and plan.path.parent == PLANS_DIR
        for t in plan.targets:
            assert t.unit == unit
            assert t.indicator is None or t.indicator in ALL_INDICATORS \
                or is_index_indicator(t.indicator)
            assert all(isinstance(v, Decimal) for v in t.thresholds.values())


def test_every_seed_text_ships_with_its_plan(shipped):
    """The repository holds the text each plan cites, and nothing else is left in sources/."""
    cited = {plan.source for plan in shipped.values()}
    assert cited == {v[2] for v in SHIPPED.values()}
    texts = {p.name for p in SOURCES_DIR.iterdir() if p.suffix == ".txt"}
    assert texts == cited
    for name in cited:
        assert (SOURCES_DIR / name).read_text(encoding="utf-8").strip()


def test_default_dir_is_the_shipped_folder(monkeypatch):
    monkeypatch.delenv("EGOV_PLANS_DIR", raising=False)
    assert default_plans_dir() == PLANS_DIR
    assert [p.code for p in load_plans()] == [p.code for p in load_plans(PLANS_DIR)]


def test_yearly_ramp_and_single_years(shipped):
    ramp = next(
        t
        for t in shipped["vinh-phuc-skhdt-2021-2025"].targets
        if t.code == "vp25-digitized-results"
    )
    assert ramp.indicator == "digitized_result_rate"
    assert ramp.thresholds == {
        y: Decimal(v) for y, v in zip(range(2021, 2026), "30 50 70 90 100".split(), strict=True)
    }
    years = {code: {y for t in p.targets for y in t.thresholds} for code, p in shipped.items()}
    assert years == {
        "tay-ninh-2021-2025": {2025},
        "binh-dinh-2021": {2021},
        "thanh-hoa-2024": {2024},
        "vinh-phuc-skhdt-2021-2025": {2021, 2022, 2023, 2024, 2025},
        "tp-tay-ninh-2023": {2023},
    }


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_clauses_are_quoted_from_the_seed(code, shipped, seed_text):
    plan = shipped[code]
    text = seed_text(plan)
    missing = [t.code for t in plan.targets if norm(t.clause) not in text]
    assert not missing, f"clauses not found verbatim in {plan.source}: {missing}"


@pytest.mark.parametrize("code", sorted(SHIPPED))
def test_every_percentage_of_the_target_sections_is_a_target(code, shipped, seed_text):
    plan = shipped[code]
    text = seed_text(plan)

    sections = []
    for start, end in SECTIONS[code]:
        starts = occurrences(text, start)
        assert starts, f"start marker {start!r} not in {plan.source}"
        for s in starts:
            e = text.find(end, s)
            assert e > s, f"end marker {end!r} not after {start!r} in {plan.source}"
            sections.append((s, e))
    assert len(sections) == SECTION_COUNT.get(code, len(SECTIONS[code]))
    found = [m for s, e in sections for m in PERCENT.finditer(text, s, e)]
    assert " ".join(m.group(1) for m in found) == PERCENTAGES[code]

    # where each target's clause sits in the seed
    spans = [
        (t, p, p + len(norm(t.clause)))
        for t in plan.targets
        for p in occurrences(text, norm(t.clause))
    ]
    exempt = [(p, p + len(s)) for s in NOT_THRESHOLDS.get(code, []) for p in occurrences(text, s)]
    for m in found:
        context = text[max(0, m.start() - 50) : m.end() + 10]
        covering = [t for t, a, b in spans if a <= m.start() and m.end() <= b]
        assert covering, f"no target quotes {m.group(0)!r} in: ...{context}..."
        if any(a <= m.start() and m.end() <= b for a, b in exempt):
            continue
        value = Decimal(m.group(1).replace(",", "."))
        assert any(value in t.thresholds.values() for t in covering), (
            f"{m.group(0)!r} is quoted by {[t.code for t in covering]} but is none of their "
            f"thresholds: ...{context}..."
        )


def test_mapped_indicators(shipped):
    """The figures the portals can measure, and only those, carry an indicator."""
    mapped = {
        code: {t.code: t.indicator for t in plan.targets if t.indicator}
        for code, plan in shipped.items()
    }
    assert mapped["tp-tay-ninh-2023"] == {
        "tptn23-satisfaction": "satisfaction_rate",
        "tptn23-on-time": "on_time_rate",
        "tptn23-online-dossiers": "online_rate",
        "tptn23-e-certification": "e_certification_rate",
        "tptn23-online-payment": "online_payment_rate",
        "tptn23-digitized-dossiers": "digitized_dossier_rate",
    }
    assert mapped["binh-dinh-2021"] == {
        "bd21-active-online-services": "catalog_active_online_rate",
        "bd21-online-services-national-portal": "catalog_online_national_portal_rate",
        "bd21-fully-online-services": "catalog_full_online_rate",
        "bd21-online-dossiers": "online_rate",
        "bd21-postal-intake": "postal_intake_rate",
        "bd21-postal-return": "postal_return_rate",
        "bd21-procedures-published": "dvcqg:PUBLISH_ON_TIME",
    }
    assert mapped["thanh-hoa-2024"] == {
        "th24-fully-online-eligible": "catalog_full_online_eligible_rate",
        "th24-service-redesign": "dvcqg:CITIZEN_DATA_CONNECTED_FORMALITY",
    }
    index = {t: i for m in mapped.values() for t, i in m.items() if i.startswith("dvcqg:")}
    assert index == {  # the seed targets the 766 index measures
        "bd21-procedures-published": "dvcqg:PUBLISH_ON_TIME",
        "vp25-procedures-published": "dvcqg:PUBLISH_ON_TIME",
        "vp25-no-resubmission": "dvcqg:REUSED_DIGITIZED_DATA",
        "th24-service-redesign": "dvcqg:CITIZEN_DATA_CONNECTED_FORMALITY",
    }
    assert {t.measure for p in shipped.values() for t in p.targets} == {"percent"}
    comparators = {t.code: t.comparator for t in shipped["tp-tay-ninh-2023"].targets}
    assert comparators["tptn23-satisfaction"] == ">" and comparators["tptn23-on-time"] == ">="


# --- the validator ----------------------------------------------------------------------------

VALID = {
    "code": "demo-2024",
    "title": "Kế hoạch thử",
    "document": "1/KH-UBND ngày 01/01/2024",
    "source": "demo.txt",
    "portal": "demo",
    "unit": "000.00.00.H00",
    "targets": [
        {
            "code": "t-online",
            "indicator": "online_rate",
            "comparator": ">=",
            "thresholds": {2024: 30},
            "clause": "tối thiểu 30% hồ sơ",
        },
        {
            "code": "t-other",
            "indicator": None,
            "unit": "000.00.01.H00",
            "comparator": ">",
            "thresholds": {2023: 33.3, 2024: 50},
            "clause": "trên 50% văn bản",
        },
    ],
}


def write(folder: Path, name: str, data) -> Path:
    path = folder / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_plan_file(tmp_path):
    plan = load_plan_file(write(tmp_path, "demo.yaml", {**VALID, "extra_key": "allowed"}))
    assert plan.code == "demo-2024" and plan.path == tmp_path / "demo.yaml"
    first, second = plan.targets
    assert first.unit == "000.00.00.H00"  # the plan's unit
    assert second.unit == "000.00.01.H00" and second.indicator is None
    assert second.thresholds == {2023: Decimal("33.3"), 2024: Decimal("50")}
    assert str(second.thresholds[2023]) == "33.3"  # exact, not the binary float's expansion


def test_folder_loading_env_extensions_and_order(tmp_path, monkeypatch):
    write(tmp_path, "b.yml", {**VALID, "code": "b"})
    write(tmp_path, "a.yaml", {**VALID, "code": "a"})
    write(tmp_path, "notes.txt", "not a plan")
    monkeypatch.setenv("EGOV_PLANS_DIR", str(tmp_path))
    assert [p.code for p in load_plans()] == ["a", "b"]
    with pytest.raises(PlanError, match="plans folder not found"):
        load_plans(tmp_path / "missing")


def mutate(path: str, value):
    """A copy of VALID with the dotted `path` set to `value` (or deleted for DELETE)."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        last = int(last)
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

MALFORMED = [
    # (id, file content, field named in the message, message fragment)
    ("not-a-mapping", "- just\n- a list\n", None, "must be a mapping"),
    ("invalid-yaml", "code: [unclosed\n", None, "invalid YAML"),
    ("empty-file", "", None, "must be a mapping"),
    ("missing-code", mutate("code", DELETE), "code", "is required"),
    ("blank-title", mutate("title", "  "), "title", "non-blank string"),
    ("missing-portal", mutate("portal", DELETE), "portal", "is required"),
    ("numeric-unit", mutate("unit", 12), "unit", "non-blank string"),
    ("missing-targets", mutate("targets", DELETE), "targets", "non-empty list"),
    ("empty-targets", mutate("targets", []), "targets", "non-empty list"),
    ("targets-not-list", mutate("targets", {"a": 1}), "targets", "non-empty list"),
    ("target-not-mapping", mutate("targets.1", "x"), "targets[1]", "must be a mapping"),
    ("target-missing-code", mutate("targets.1.code", DELETE), "targets[1].code", "is required"),
    ("target-blank-clause", mutate("targets.0.clause", ""), "targets[0].clause", "non-blank"),
    ("target-missing-clause", mutate("targets.1.clause", DELETE), "targets[1].clause", "required"),
    ("target-blank-unit", mutate("targets.1.unit", " "), "targets[1].unit", "non-blank"),
    (
        "indicator-key-missing",
        mutate("targets.0.indicator", DELETE),
        "targets[0].indicator",
        "required",
    ),
    (
        "unknown-indicator",
        mutate("targets.1.indicator", "speed"),
        "targets[1].indicator",
        "unknown indicator code 'speed'",
    ),
    (
        "bad-comparator",
        mutate("targets.1.comparator", "=>"),
        "targets[1].comparator",
        'must be ">=" or ">", got "=>"',
    ),
    (
        "missing-comparator",
        mutate("targets.0.comparator", DELETE),
        "targets[0].comparator",
        "must be",
    ),
    (
        "missing-thresholds",
        mutate("targets.0.thresholds", DELETE),
        "targets[0].thresholds",
        "non-empty mapping",
    ),
    (
        "empty-thresholds",
        mutate("targets.0.thresholds", {}),
        "targets[0].thresholds",
        "non-empty mapping",
    ),
    (
        "thresholds-list",
        mutate("targets.0.thresholds", [30]),
        "targets[0].thresholds",
        "non-empty mapping",
    ),
    (
        "year-as-string",
        mutate("targets.0.thresholds", {"2024": 30}),
        "targets[0].thresholds",
        "year must be an integer",
    ),
    (
        "year-too-early",
        mutate("targets.0.thresholds", {1999: 30}),
        "targets[0].thresholds",
        "got 1999",
    ),
    (
        "year-too-late",
        mutate("targets.0.thresholds", {2101: 30}),
        "targets[0].thresholds",
        "got 2101",
    ),
    (
        "percent-over-100",
        mutate("targets.0.thresholds", {2024: 100.5}),
        "targets[0].thresholds[2024]",
        "0..100",
    ),
    (
        "percent-negative",
        mutate("targets.0.thresholds", {2024: -1}),
        "targets[0].thresholds[2024]",
        "0..100",
    ),
    (
        "percent-as-string",
        mutate("targets.0.thresholds", {2024: "30%"}),
        "targets[0].thresholds[2024]",
        "number",
    ),
    (
        "percent-bool",
        mutate("targets.0.thresholds", {2024: True}),
        "targets[0].thresholds[2024]",
        "number",
    ),
    (
        "percent-null",
        mutate("targets.0.thresholds", {2024: None}),
        "targets[0].thresholds[2024]",
        "number",
    ),
    (
        "report-by-unknown",
        mutate("targets.1.report_by", "province"),
        "targets[1].report_by",
        'must be "unit" or "children"',
    ),
    (
        "report-due-not-a-day",
        mutate("targets.1.report_due", "02-30"),
        "targets[1].report_due",
        'must be a day "MM-DD"',
    ),
    (
        "report-due-unquoted-number",
        mutate("targets.1.report_due", 120),
        "targets[1].report_due",
        "got 120",
    ),
    (
        "report-due-29-february",
        mutate("targets.1.report_due", "02-29"),
        "targets[1].report_due",
        "MM-DD",
    ),
    (
        "duplicate-target-code",
        mutate("targets.1.code", "t-online"),
        "targets[1].code",
        "duplicate target code 't-online'",
    ),
]


@pytest.mark.parametrize(
    "content, field, fragment", [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_malformed_plan_is_rejected_naming_file_and_field(tmp_path, content, field, fragment):
    path = write(tmp_path, "bad.yaml", content)
    with pytest.raises(PlanError) as exc:
        load_plan_file(path)
    message = str(exc.value)
    assert message.startswith(f"{path}: ")
    if field is not None:
        assert message.startswith(f"{path}: {field}: ")
    assert fragment in message
    # the folder loader reports the same error
    with pytest.raises(PlanError, match=re.escape(message)):
        load_plans(tmp_path)


def test_bad_comparator_message_is_exact(tmp_path):
    path = write(tmp_path, "x.yaml", mutate("targets.1.comparator", "=>"))
    with pytest.raises(PlanError) as exc:
        load_plan_file(path)
    assert str(exc.value) == f'{path}: targets[1].comparator: must be ">=" or ">", got "=>"'


def test_duplicate_plan_code_across_files_names_both(tmp_path):
    first = write(tmp_path, "a.yaml", VALID)
    second = write(tmp_path, "b.yml", VALID)
    with pytest.raises(PlanError) as exc:
        load_plans(tmp_path)
    message = str(exc.value)
    assert str(first) in message and str(second) in message
    assert "code" in message and "demo-2024" in message


def test_report_by_and_report_due(tmp_path):
    from datetime import date

    data = copy.deepcopy(VALID)
    data["targets"][1].update(report_by="children", report_due="03-31")
    plan = load_plan_file(write(tmp_path, "demo.yaml", data))
    first, second = plan.targets
    assert (first.report_by, first.report_due) == ("unit", "01-20")  # the defaults
    assert first.due_date(2024) == date(2025, 1, 20)
    assert (second.report_by, second.report_due) == ("children", "03-31")
    assert second.due_date(2023) == date(2024, 3, 31)


def test_shipped_reported_targets_say_who_reports(shipped):
    """Every target without an indicator names who reports and by when, each choice
    explained by a comment just above it (the plan text's reason)."""
    for plan in shipped.values():
        text = plan.path.read_text(encoding="utf-8").splitlines()
        for target in plan.targets:
            if target.indicator is not None:
                continue
            assert target.report_by in ("unit", "children")
            start = text.index(f"  - code: {target.code}")
            block = text[start:start + 12]
            by = next(i for i, line in enumerate(block) if line.strip().startswith("report_by:"))
            due = next(i for i, line in enumerate(block) if line.strip().startswith("report_due:"))
            assert block[by - 1].strip().startswith("# "), (plan.code, target.code)
            assert block[due - 1].strip().startswith("# "), (plan.code, target.code)
    children = {t.code for p in shipped.values() for t in p.targets if t.report_by == "children"}
    assert "bd21-self-inspection" in children and "th24-budget-disclosure" in children
