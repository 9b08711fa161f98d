"""Who answers for each domain in the Dagster catalog (the dbt assets take the same two owners from
`meta.dagster.owners` in dbt_project.yml): the planning office (区发展和改革局) for the plan catalog, the
marts, the alerts and the report; the data team for ingestion, the models between and the publication."""

PLANNING_OFFICE = "team:planning_office"
DATA_TEAM = "team:data_team"
