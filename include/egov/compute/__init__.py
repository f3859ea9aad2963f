"""Compute: plans, indicator snapshots, target evaluation, outlook and Biểu 06, in SQL inside
the warehouse (docs/contracts/indicators.md)."""
