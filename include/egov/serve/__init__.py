"""Serve: what people read: the Targets pages, the reports and Biểu 06 files, the alerts."""
