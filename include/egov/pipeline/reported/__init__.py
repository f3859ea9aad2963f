"""Figures reported by units (docs/contracts/reported-figures.md), the pipeline's part: the
template a unit fills in (`template`), demo files (`sample`), the inbox intake (`intake`:
files read by egov.sources.reported, rows validated by egov.quality.reported, revisions
stored by egov.warehouse.reported, a receipt per file) and the steps of the DAG
egov_reported (`step`).

`python -m egov.pipeline.reported template --plan CODE --year Y` writes a template;
`python -m egov.pipeline.reported take` takes the inbox once (the DAG egov_reported does it).
"""
