"""Sources of the warehouse other than the nightly portal reads."""
