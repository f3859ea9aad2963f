"""A simulator of provincial one-stop-shop portals (docs/contracts/portal-api.md).

``build_world`` makes the deterministic data (units, procedure catalogue, application records
with their version timelines); ``SimulatorFleet`` serves it over HTTP, one server per portal.
"""

from egov.simulator.faults import PRESETS as FAULT_PRESETS
from egov.simulator.faults import FaultConfig, parse_faults
from egov.simulator.server import SimulatorFleet
from egov.simulator.units import PORTALS, portal_codes
from egov.simulator.world import (
    CORRUPTION_RULES,
    DossierVersion,
    World,
    build_world,
    format_ts,
    parse_ts,
)

__all__ = [
    "CORRUPTION_RULES",
    "FAULT_PRESETS",
    "PORTALS",
    "DossierVersion",
    "FaultConfig",
    "SimulatorFleet",
    "World",
    "build_world",
    "format_ts",
    "parse_faults",
    "parse_ts",
    "portal_codes",
]
