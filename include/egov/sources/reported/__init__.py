"""Figures reported by units (docs/contracts/reported-figures.md), the source: the inbox
folder (`hook`: Airflow connection -> `client`), the template's columns (`columns`), files
hostile until read (`files`) and the parse of their rows (`rows`, the boundary).

Its stages: the GX suite of rows `egov.quality.reported`, the revisions
`egov.warehouse.reported`, which figure counts `egov.compute.reported`, the intake, template
and DAG steps `egov.pipeline.reported` (`python -m egov.pipeline.reported template ...`).
"""
