"""Sources: one package per system the pipeline reads, each with the same parts.

A source has its configuration, a hook (an Airflow connection turned into a client), a client
that owns transport and paging, the boundary where the system's records are parsed (its own
field names mapped once), and the windows it is read in. The raw zone is shared by all.
See docs/architecture.md.
"""
