"""Row counts, column schema and column-level lineage on the dbt materializations.

They are read once dbt has exited (one writer per DuckDB file), with one read-only DuckDB connection of
this process: every relation's columns from one information_schema query and every built table's row count
from one union query. (dagster-dbt's own `fetch_row_counts`/`fetch_column_metadata` asks once per model
from a thread pool: ~4 s of CPU per refresh of the sample project, and 48 log events; it also needs a dbt
adapter set up in this process before dbt starts, ~1.8 s of every run: PlanwhDbtCli does not make one.)
Column lineage: dagster-dbt's (`with_column_lineage=True`) asks sqlglot for one column at a time, and sqlglot then
re-qualifies the whole query and deep-copies its trimmed selects for every column: 80 s of CPU for the
sample project's 52 models and seeds on this machine (sqlglot 30), 52 s of it for
int_indicator_attainment_evaluated alone, more than the rest of a full refresh. Here each model is
optimised once and sqlglot walks all its columns in one pass without trimming the selects (only the
leaves are read): 3 s, the same lineage (compared model by model on the sample project). Lineage only
changes when a model's code or the schema it reads changes, so it is still computed for those models only
and otherwise reused from a cache beside the manifest (target/column_lineage_cache.json). The metadata is
information for the UI: a query that fails here is logged and leaves it out, it never fails the build.
Column types are DuckDB's own names (VARCHAR, where dbt's adapter says "character varying(256)").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

import dagster as dg
from dagster._serdes import deserialize_value, serialize_value

log = dg.get_dagster_logger(__name__)  # into the run's log when called from a step

SCHEMA_KEY = "dagster/column_schema"
ROW_COUNT_KEY = "dagster/row_count"  # the keys of dagster's TableMetadataSet (row_count, storage_kind)
STORAGE_KIND_KEY = "dagster/storage_kind"
LINEAGE_KEY = "dagster/column_lineage"
CACHE_NAME = "column_lineage_cache.json"


def with_table_metadata(invocation, events: list, cache_dir: Path, warehouse: Path) -> list:
    """The dbt events in dbt's order, each model's and seed's materialization carrying its row count
    (tables), column schema and column lineage, read from the `warehouse` file dbt built. Test results are
    left as they are."""
    built = [e for e in events if isinstance(e, dg.Output | dg.AssetMaterialization)]
    if not built:
        return events
    manifest = invocation.manifest
    columns = _relation_columns(warehouse)
    if not columns:  # the query failed (logged): no lineage built from, or cached for, empty schemas
        return events
    counts = _row_counts(warehouse, manifest, [_unique_id(e) for e in built])
    cache_path = cache_dir / CACHE_NAME
    cache = _read_cache(cache_path)
    # a model's lineage depends on its parents' columns: those built in this run, else the columns they had
    # when last built (kept in the cache), so that a build of some plans' models (plan_incremental) and the
    # nightly full build agree on the keys instead of recomputing lineage after each other
    built_now = {_unique_id(e): _columns(manifest, _unique_id(e), columns) for e in built}
    schemas = {**cache["schemas"], **{uid: cols for uid, cols in built_now.items() if cols}}
    keys = {uid: _lineage_key(manifest, uid, schemas) for uid in built_now}
    lineage = cache["lineage"]
    missing = [uid for uid in built_now if keys[uid] not in lineage]
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
    adapter_type = manifest["metadata"]["adapter_type"]
    enriched = {}
    for event in built:
        unique_id = _unique_id(event)
        metadata = dict(event.metadata)
        if built_now[unique_id]:
            metadata[SCHEMA_KEY] = dg.TableSchema(
                columns=[dg.TableColumn(name=name, type=kind) for name, kind in built_now[unique_id]]
            )
        if unique_id in counts:
            metadata.update({ROW_COUNT_KEY: counts[unique_id], STORAGE_KIND_KEY: adapter_type})
        stored = lineage.get(keys[unique_id])
        if stored is not None:
            metadata[LINEAGE_KEY] = deserialize_value(stored)
        enriched[id(event)] = event.with_metadata(metadata)
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
    try:
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
        schema.add_table(
            to_table(node["relation_name"], dialect=dialect), column_mapping=own, dialect=dialect
        )
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


def _relation_columns(warehouse: Path) -> dict:
    """Every relation's columns in the warehouse, in order: {(catalog, schema, name): {column: type}}."""
    rows = _query(
        warehouse,
        "select table_catalog, table_schema, table_name, column_name, data_type from information_schema.columns "
        "order by table_catalog, table_schema, table_name, ordinal_position",
    )
    columns: dict = {}
    for catalog, schema, name, column, data_type in rows:
        columns.setdefault((catalog.lower(), schema.lower(), name.lower()), {})[column] = data_type
    return columns


def _row_counts(warehouse: Path, manifest: dict, unique_ids: list) -> dict:
    """{unique_id: rows} of the built tables (not views: counting one runs its query)."""
    nodes = manifest["nodes"]
    tables = [
        (uid, nodes[uid]["relation_name"])
        for uid in unique_ids
        if nodes.get(uid, {}).get("relation_name") and nodes[uid]["config"].get("materialized") != "view"
    ]
    if not tables:
        return {}
    quoted = {uid: uid.replace("'", "''") for uid, _ in tables}
    union = " union all ".join(
        f"select '{quoted[uid]}', count(*) from {relation}" for uid, relation in tables
    )
    return {uid: int(rows) for uid, rows in _query(warehouse, union)}


def _query(warehouse: Path, sql: str) -> list:
    """Rows of one query on the warehouse, read-only (dbt has exited and the step holds the writer lock: this
    is the file's one reader); none, with a warning, if it fails."""
    import duckdb

    try:
        with contextlib.closing(duckdb.connect(str(warehouse), read_only=True)) as con:
            return con.execute(sql).fetchall()
    except Exception as error:  # metadata for the UI: never a reason to fail the build
        log.warning("table metadata not read (%s): %s", sql[:60], error)
        return []


def _relation_key(table) -> tuple:
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def _unique_id(event) -> str:
    return event.metadata["unique_id"].value


def _columns(manifest: dict, unique_id: str, columns: dict) -> list:
    """A built model's or seed's columns as the warehouse has them: [[name, type], ...] (as JSON keeps it)."""
    from sqlglot import to_table

    node = manifest["nodes"].get(unique_id) or {}
    if not node.get("relation_name"):
        return []
    try:
        table = to_table(node["relation_name"], dialect=manifest["metadata"]["adapter_type"])
    except Exception:  # a relation sqlglot cannot name (e.g. an external source's function call)
        return []
    return [[name, kind] for name, kind in columns.get(_relation_key(table), {}).items()]


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
