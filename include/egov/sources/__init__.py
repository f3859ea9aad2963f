"""The systems the pipeline reads: one package per source."""
