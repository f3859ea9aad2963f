"""egov: extract, validate, load and measure Vietnamese one-stop-shop portal data."""
