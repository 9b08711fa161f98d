"""Row counts, column schema and column-level lineage on the dbt materializations.

dagster-dbt fetches the row counts and column schemas (`fetch_row_counts`, `fetch_column_metadata`); with
DuckDB it does so once dbt has exited (one writer per file), through its adapter in this process. Column
lineage is built here: dagster-dbt's own (`with_column_lineage=True`) asks sqlglot for one column at a
time, and sqlglot then re-qualifies the whole query and deep-copies its trimmed selects for every column:
80 s of CPU for the sample project's 52 models and seeds on this machine (sqlglot 30), 52 s of it for
int_indicator_attainment_evaluated alone, more than the rest of a full refresh. Here each model is
optimised once and sqlglot walks all its columns in one pass without trimming the selects (only the
leaves are read): 3 s, the same lineage (compared model by model on the sample project). Lineage only
changes when a model's code or the schema it reads changes, so it is still computed for those models only
and otherwise reused from a cache beside the manifest (target/column_lineage_cache.json).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path

import dagster as dg
from dagster._serdes import deserialize_value, serialize_value
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

log = logging.getLogger(__name__)

SCHEMA_KEY = "dagster/column_schema"
LINEAGE_KEY = "dagster/column_lineage"
CACHE_NAME = "column_lineage_cache.json"


def with_table_metadata(invocation, events: list, cache_dir: Path) -> list:
    """The dbt events in dbt's order, each model's and seed's materialization carrying its row count
    (tables), column schema and column lineage. Test results are left as they are."""
    built = [e for e in events if isinstance(e, dg.Output | dg.AssetMaterialization)]
    if not built:
        return events
    fetched = list(
        DbtEventIterator(iter(built), invocation)
        .fetch_row_counts()
        .fetch_column_metadata(with_column_lineage=False)
    )
    manifest = invocation.manifest
    cache_path = cache_dir / CACHE_NAME
    cache = _read_cache(cache_path)
    # a model's lineage depends on its parents' columns: those built in this run, else the columns they had
    # when last built (kept in the cache), so that a build of some plans' models (plan_incremental) and the
    # nightly full build agree on the keys instead of recomputing lineage after each other
    built_now = {_unique_id(e): _columns(e) for e in fetched}
    schemas = {**cache["schemas"], **{uid: cols for uid, cols in built_now.items() if cols}}
    keys = {_unique_id(e): _lineage_key(manifest, _unique_id(e), schemas) for e in fetched}
    lineage = cache["lineage"]
    missing = [_unique_id(e) for e in fetched if keys[_unique_id(e)] not in lineage]
    if missing:
        columns = _relation_columns(invocation)
        for unique_id in missing:
            found = column_lineage(invocation, unique_id, columns)
            lineage[keys[unique_id]] = serialize_value(found) if found is not None else None
    latest = {**cache["latest"], **keys}
    if missing or latest != cache["latest"] or schemas != cache["schemas"]:
        # one entry per model of the project (not only this run's): older keys of a model are dropped
        current = {uid: key for uid, key in latest.items() if uid in manifest["nodes"]}
        _write_cache(
            cache_path,
            {
                "lineage": {key: lineage[key] for key in current.values() if key in lineage},
                "latest": current,
                "schemas": {uid: cols for uid, cols in schemas.items() if uid in manifest["nodes"]},
            },
        )
    enriched = {}
    for original, event in zip(built, fetched, strict=True):
        stored = lineage.get(keys[_unique_id(event)])
        if stored is not None:
            event = event.with_metadata({**event.metadata, LINEAGE_KEY: deserialize_value(stored)})
        enriched[id(original)] = event
    return [enriched.get(id(e), e) for e in events]


def column_lineage(invocation, unique_id: str, columns: dict) -> dg.TableColumnLineage | None:
    """Which columns of its parents each column of a model is computed from (None for seeds and for a model
    whose compiled SQL sqlglot cannot read: lineage is information for the UI, never a reason to fail)."""
    from sqlglot import MappingSchema, exp, parse_one, to_table
    from sqlglot.expressions import normalize_table_name
    from sqlglot.lineage import lineage
    from sqlglot.optimizer import optimize

    manifest = invocation.manifest
    node = manifest["nodes"].get(unique_id)
    if not node or node["resource_type"] != "model":
        return None
    dialect = manifest["metadata"]["adapter_type"]
    compiled = Path(invocation.target_path, "compiled", node["package_name"], node["original_file_path"])
    own = columns.get(_relation_key(to_table(node["relation_name"], dialect=dialect)), {})
    schema = MappingSchema(dialect=dialect)
    parents = {}
    for parent in node["depends_on"]["nodes"]:
        props = manifest["nodes"].get(parent) or manifest["sources"].get(parent)
        if not props or not props.get("relation_name"):
            continue
        table = to_table(props["relation_name"], dialect=dialect)
        schema.add_table(table, column_mapping=columns.get(_relation_key(table), {}), dialect=dialect)
        parents[normalize_table_name(table, dialect=dialect)] = parent
    schema.add_table(to_table(node["relation_name"], dialect=dialect), column_mapping=own, dialect=dialect)
    try:
        query = optimize(
            parse_one(compiled.read_text(encoding="utf-8"), dialect=dialect), schema=schema, dialect=dialect
        )
        # trim_selects=False: trimming deep-copies every select on the way, and only the leaves are read
        roots = lineage(None, query.sql(dialect=dialect), schema, dialect=dialect, trim_selects=False)
    except Exception as error:  # any sqlglot failure means "no lineage for this model"
        log.warning("column lineage of %s not built: %s", unique_id, error)
        return None
    key_of = {}
    names = {column.lower() for column in own}
    # a column the SQL does not name (e.g. an implicit alias) has no known parents
    deps = {name: [] for name in names - {selected.lower() for selected in roots}}
    for selected, root in roots.items():
        if selected.lower() not in names:
            continue
        found = set()
        for step in root.walk():
            table = None if step.downstream else step.expression.find(exp.Table)
            parent = parents.get(normalize_table_name(table, dialect=dialect)) if table else None
            if parent is None:
                continue
            if parent not in key_of:
                spec = invocation.dagster_dbt_translator.get_asset_spec(manifest, parent, invocation.project)
                key_of[parent] = spec.key
            found.add(
                dg.TableColumnDep(asset_key=key_of[parent], column_name=exp.to_column(step.name).name.lower())
            )
        deps[selected.lower()] = sorted(found, key=lambda d: (d.asset_key.to_user_string(), d.column_name))
    return dg.TableColumnLineage(deps_by_column=deps)


def _relation_columns(invocation) -> dict:
    """Every relation's columns in the warehouse, in order: {(catalog, schema, name): {column: type}}, from one
    query through dagster-dbt's adapter (dbt has exited; the adapter's connection is the one reader)."""
    adapter = invocation.adapter
    if adapter is None:
        return {}
    with contextlib.chdir(invocation.project_dir), adapter.connection_named("planwh_column_lineage"):
        _, table = adapter.execute(
            "select table_catalog, table_schema, table_name, column_name, data_type "
            "from information_schema.columns order by table_catalog, table_schema, table_name, ordinal_position",
            fetch=True,
        )
    columns: dict = {}
    for catalog, schema, name, column, data_type in table.rows:
        columns.setdefault((catalog.lower(), schema.lower(), name.lower()), {})[column] = data_type
    return columns


def _relation_key(table) -> tuple:
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def _unique_id(event) -> str:
    return event.metadata["unique_id"].value


def _columns(event) -> list:
    schema = event.metadata.get(SCHEMA_KEY)
    if schema is None:
        return []
    return [[c.name, c.type] for c in schema.value.columns]  # as JSON keeps it (the cache)


def _lineage_key(manifest: dict, unique_id: str, schemas: dict) -> str:
    """What a model's lineage depends on: its code, its own columns and its parents' columns (as built in
    this run or when last built, else as declared in dbt)."""
    node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
    parents = []
    for parent in sorted(node.get("depends_on", {}).get("nodes", [])):
        props = manifest["nodes"].get(parent) or manifest["sources"].get(parent) or {}
        declared = sorted((name, c.get("data_type")) for name, c in props.get("columns", {}).items())
        parents.append([parent, schemas.get(parent) or declared, props.get("checksum", {}).get("checksum")])
    payload = [unique_id, node.get("checksum", {}).get("checksum"), schemas.get(unique_id), parents]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()


def _read_cache(path: Path) -> dict:
    """{"lineage": {key: serialized lineage}, "latest": {unique_id: key}, "schemas": {unique_id: columns}};
    empty when missing, unreadable or in an older layout."""
    empty = {"lineage": {}, "latest": {}, "schemas": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty
    if not isinstance(data, dict) or not all(isinstance(data.get(k), dict) for k in empty):
        return empty
    return {k: data[k] for k in empty}


def _write_cache(path: Path, data: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    tmp.replace(path)
