"""The national public-service portal's service-quality index (Decision 766/QĐ-TTg),
read per /work/shared/spec/dvcqg-766.md (docs/dvcqg.md).

Modules: `groups` (the six groups and their paths), `config` (provinces file), `periods`,
`client` (HTTP), `hook` (Airflow connection), `raw` (raw zone), `records` (the parse
boundary), `scores` (the known formulas), `load` (warehouse), `run` (one province's read).
"""
