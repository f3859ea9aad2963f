"""Write tests/file_durations.json (seconds per test file) from a JUnit XML report:

    python -m pytest ... --junitxml=/tmp/junit.xml
    python scripts/test_durations.py /tmp/junit.xml

tests/conftest.py orders the test files longest first, so that with `--dist loadfile` the
long end-to-end files start first and no worker is left alone with one at the end."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "file_durations.json"


def main(report: str) -> None:
    seconds: Counter[str] = Counter()
    for case in ET.parse(report).iter("testcase"):
        parts = (case.get("classname") or "").split(".")
        if len(parts) >= 2 and parts[0] == "tests":
            seconds[f"tests/{parts[1]}.py"] += float(case.get("time") or 0)
    data = {name: round(value, 1) for name, value in sorted(seconds.items())}
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data)} files, {sum(data.values()):.0f} s in all")


if __name__ == "__main__":
    main(sys.argv[1])
