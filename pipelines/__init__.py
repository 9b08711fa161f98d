"""Plan-monitoring warehouse: Dagster code location (see definitions.py)."""
