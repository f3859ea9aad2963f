"""Running under Airflow: the distributed deployment's start-up, crash points for tests, the
garbage-collector pause of window work, and the start time of `airflow dags test` runs."""
