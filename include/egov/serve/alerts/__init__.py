"""Alerts: a target turns at risk, missed or out of reach; a portal fails or its data grows
old; the nightly run is late (Deadline Alert). One message per change of state, kept in the
warehouse table `alert_state`; docs/alerts.md."""
