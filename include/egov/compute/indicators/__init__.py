"""Indicators in one place: their codes, their dictionary (`dim_indicator`) and the snapshots
computed from the warehouse."""
