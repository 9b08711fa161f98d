"""The plan catalog (indicators, targets, projects, departments), read from the dbt seeds."""
