"""The unit tree: rows for dim_unit and its closure (every ancestor of every unit)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def closure_rows(portal_code: str, parents: Mapping[str, str | None]) -> list[dict]:
    """(ancestor, descendant, depth) pairs of the tree `unit -> parent`, self pairs included.

    A parent that is not a unit of the tree ends the chain; a cycle is cut where it closes.
    """
    rows = []
    for unit in parents:
        seen = {unit}
        node: str | None
        node, depth = unit, 0
        while node is not None:
            rows.append(
                {"ancestor_code": node, "descendant_code": unit, "portal_code": portal_code,
                 "depth": depth}
            )
            node = parents.get(node)
            if node is None or node in seen or node not in parents:
                break
            seen.add(node)
            depth += 1
    return rows


def parents_of(units: Iterable[Mapping]) -> dict[str, str | None]:
    """`MaDonVi -> MaDonViCha` of /api/donvi items (blank parent = root)."""
    return {u["MaDonVi"]: (u.get("MaDonViCha") or None) for u in units}
