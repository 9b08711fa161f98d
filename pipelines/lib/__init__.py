"""Plain Python used by the Dagster definitions: no Dagster imports here."""
