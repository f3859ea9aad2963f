"""Figures reported by units (docs/contracts/reported-figures.md): the template a unit fills
in (`template`), the inbox intake (`intake`: files hostile until read, `files`; rows
validated by a Great Expectations suite, `validate`; a receipt per file).

`python -m egov.sources.reported template --plan CODE --year Y` writes a template;
`python -m egov.sources.reported take` takes the inbox once (the DAG egov_reported does it).
"""
