"""Pages the Airflow API server serves through the plugins in plugins/ (Targets, Data Docs)."""
