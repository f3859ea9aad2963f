"""Issue 20.7: the lock pins no pip or setuptools release with known security fixes missing
(pip < 25.3: CVE-2023-5752, CVE-2025-8869; setuptools < 78.1.1: CVE-2024-6345,
CVE-2025-47273)."""

from __future__ import annotations

from packaging.version import Version

from tests.e2e_support import REPO

FLOORS = {"pip": Version("25.3"), "setuptools": Version("78.1.1")}


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[name.lower()] = Version(version)
    return pins


def test_pip_and_setuptools_are_current():
    pins = _pins()
    for name, floor in FLOORS.items():
        assert name in pins, f"{name} is not pinned"
        assert pins[name] >= floor, f"{name}=={pins[name]} is older than {floor}"
