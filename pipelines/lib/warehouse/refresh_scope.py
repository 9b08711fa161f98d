"""What a refresh asks of dbt: a full build, or only the plans its new files touched.

The warehouse remembers what its models were last built from (ops.model_state): a fingerprint of the
dbt project's code, of the catalog (the seeds), the evaluation date (as_of) and the knowledge cutoff
(known_at); and which submissions of the ledger they already reflect (ops.modelled_submissions). Before
each dbt run, `plan_build` compares:

  full     nothing recorded (or the last build was a selection of dbt assets from the UI, or did not
           finish: the models' state is not known), the models' code or the catalog changed, or a full
           build was asked for (the nightly run): `dbt build`, every seed, model and test.
  models   only as_of or known_at changed: every table rebuilt and every test run
           (`--selector planwh_rebuild_models`); the seeds and views, unchanged, are not reloaded.
  scoped   the same fingerprint and new submissions in the ledger: the models downstream of the raw
           tables recompute the plans of the regions those files touched, and the tests on them run
           (`--selector planwh_refresh_scope`, dbt_project/macros/plan_incremental.sql). Raw tables are
           only appended to, so when the new files wrote no rows to a raw table, what lies downstream of
           that table alone is current: a statistics file leaves the project milestones alone
           (`planwh_refresh_scope_indicators`, dbt_project/selectors.yml).
  none     nothing changed since the last build: dbt is not run.

A region's plans are touched together (a district's next plan carries over its predecessor's projects and
shares its departments), and so are its departments: a rejected file changes its department's compliance
in every plan of the region. `record_build` is called only after dbt succeeded, so a killed or failed
build leaves its submissions pending and its fingerprint unrecorded: the next refresh redoes the work.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import duckdb

from ..settings import Settings, now_local
from .connection import connect

REFRESH_SCOPE = "ops.refresh_scope"
FULL_BUILD_TAG = "planwh/full_build"  # run tag, "true": the nightly run (and `planwh refresh --full`)
SCOPED_SELECTOR = "planwh_refresh_scope"
# the raw tables whose rows only some files carry -> the scoped selector when the new files wrote to these
# only (raw.submissions and raw.quarantine are always selected: every file has a ledger entry)
SCOPED_SELECTORS = {
    frozenset({"indicator_values", "project_progress"}): SCOPED_SELECTOR,
    frozenset({"indicator_values"}): f"{SCOPED_SELECTOR}_indicators",
    frozenset({"project_progress"}): f"{SCOPED_SELECTOR}_projects",
    frozenset(): f"{SCOPED_SELECTOR}_ledger",
}
MODELS_SELECTOR = "planwh_rebuild_models"

STATE_DDL = """
create schema if not exists ops;
create table if not exists ops.model_state (
    state_key   varchar primary key,  -- models | catalog | as_of | known_at | mode | plans | selector
    state_value varchar,
    recorded_at timestamp not null
);
create table if not exists ops.modelled_submissions (
    submission_id varchar primary key,  -- in the ledger and reflected in the models
    modelled_at   timestamp not null
);
"""

_PROJECT_SKIP = {"target", "logs", "dbt_packages", "seeds"}


@dataclass
class BuildPlan:
    mode: str  # full | models | scoped | none (| subset: a UI selection of dbt assets, built whole)
    reason: str
    fingerprint: dict[str, str]
    plans: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    submissions: list[str] = field(default_factory=list)  # the pending ledger entries this build covers
    plans_total: int = 0
    selector: str = SCOPED_SELECTOR  # scoped: which raw tables' descendants (SCOPED_SELECTORS)

    @property
    def dbt_args(self) -> list[str]:
        if self.mode == "scoped":
            return ["--selector", self.selector]
        if self.mode == "models":
            return ["--selector", MODELS_SELECTOR]
        return ["--exclude-resource-type", "unit_test"]  # unit tests run in `make test`, not nightly

    def describe(self) -> str:
        if self.mode == "scoped":
            return (
                f"scoped: {len(self.plans)} of {self.plans_total} plan(s) for {len(self.submissions)} new "
                f"submission(s) ({', '.join(self.plans[:5])}{' …' if len(self.plans) > 5 else ''}), "
                f"selector {self.selector}"
            )
        return f"{self.mode}: {self.reason}"


def _digest(paths: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def fingerprint(settings: Settings, as_of: str, known_at: str | None) -> dict[str, str]:
    """What the models' content depends on besides the raw submissions."""
    project = settings.dbt_project_dir
    code = [
        p for p in project.rglob("*") if p.is_file() and p.relative_to(project).parts[0] not in _PROJECT_SKIP
    ]
    code += [p for p in (project / "seeds").glob("*") if p.is_file() and p.suffix != ".csv"]  # column types
    versions = {name: metadata.version(name) for name in ("dbt-core", "dbt-duckdb", "duckdb")}
    return {
        "models": _digest(code, project) + ":" + json.dumps(versions, sort_keys=True),
        "catalog": _digest(list((project / "seeds").glob("*.csv")), project),
        "as_of": as_of,
        "known_at": known_at or "",
    }


def _stored_state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("select state_key, state_value from ops.model_state").fetchall())


def _models_exist(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'catalog' or schema_name = 'marts'"
    ).fetchone()[0]
    return found > 0


def plan_build(settings: Settings, as_of: str, known_at: str | None, full: bool = False) -> BuildPlan:
    """Decide how much of the dbt project this refresh must build (see the module docstring)."""
    current = fingerprint(settings, as_of, known_at)
    with connect(settings) as con:
        con.execute(STATE_DDL)
        stored = _stored_state(con)
        if full:
            return BuildPlan("full", "a full build was asked for (nightly or --full)", current)
        if "models" not in stored or not _models_exist(con):
            return BuildPlan("full", _why_unknown(stored.get("mode")), current)
        if stored.get("models") != current["models"]:
            return BuildPlan("full", "the dbt project changed since the last build", current)
        if stored.get("catalog") != current["catalog"]:
            return BuildPlan("full", "the catalog (seeds) changed since the last build", current)
        changed = [k for k in ("as_of", "known_at") if stored.get(k, "") != current[k]]
        if changed:
            what = " and ".join(f"{k} {stored.get(k) or 'none'} → {current[k] or 'none'}" for k in changed)
            return BuildPlan("models", f"{what}: every model is re-evaluated", current)
        pending = [
            r[0]
            for r in con.execute(
                """select s.submission_id from raw.submissions s
                   where not exists (select 1 from ops.modelled_submissions m
                                     where m.submission_id = s.submission_id)
                   order by s.submission_id"""
            ).fetchall()
        ]
        if not pending:
            return BuildPlan("none", "no new submissions since the last build", current)
        con.execute("create or replace temp table pending_submissions (submission_id varchar)")
        con.executemany("insert into pending_submissions values (?)", [[s] for s in pending])
        try:
            plans, departments, total = _touched(con)
            loaded = frozenset(
                table
                for table in ("indicator_values", "project_progress")
                if con.execute(
                    f"""select exists (select 1 from raw.{table} r
                                       join pending_submissions p on p.submission_id = r.submission_id)"""
                ).fetchone()[0]
            )
        finally:
            con.execute("drop table pending_submissions")
        return BuildPlan(
            "scoped",
            f"{len(pending)} new submission(s)",
            current,
            plans=plans,
            departments=departments,
            submissions=pending,
            plans_total=total,
            selector=SCOPED_SELECTORS[loaded],
        )


def _why_unknown(last: str | None) -> str:
    """Why the models' state is not known (nothing to compare a refresh with): what `begin_build` left."""
    if last == "subset":
        return (
            "the last build was a selection of dbt assets (from the UI), which rebuilt some models only, so "
            "the models' state is not known: everything is rebuilt"
        )
    if last in ("full", "models"):
        return f"the last {last} build failed or was stopped, so the models' state is not known: everything is rebuilt"
    return "no build recorded in this warehouse"


def _touched(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str], int]:
    """The plans and departments of every region the pending submissions (temp table
    pending_submissions) touched: the submitting department's region, and the region of every plan their
    rows (accepted or not) were loaded for."""
    regions_sql = """
        select d.region_code
        from raw.submissions s
        join pending_submissions p on p.submission_id = s.submission_id
        join catalog.catalog_departments d on d.department_code = s.department_code
        union
        select pl.region_code
        from raw.indicator_values v
        join pending_submissions p on p.submission_id = v.submission_id
        join catalog.catalog_plans pl on pl.plan_id = v.plan_id
        union
        select pl.region_code
        from raw.project_progress v
        join pending_submissions p on p.submission_id = v.submission_id
        join catalog.catalog_plans pl on pl.plan_id = v.plan_id
    """
    plans = [
        r[0]
        for r in con.execute(
            f"select plan_id from catalog.catalog_plans where region_code in ({regions_sql}) order by 1"
        ).fetchall()
    ]
    owners = " union ".join(
        f"select owner_department_code from catalog.{seed} where plan_id in "
        f"(select plan_id from catalog.catalog_plans where region_code in ({regions_sql}))"
        for seed in ("catalog_main_indicators", "catalog_secondary_targets", "catalog_projects")
    )
    departments = [
        r[0]
        for r in con.execute(
            f"""
            select department_code from catalog.catalog_departments where region_code in ({regions_sql})
            union select {owners.removeprefix("select ")}
            union select coalesce(s.department_code, '')
                  from raw.submissions s join pending_submissions p on p.submission_id = s.submission_id
            order by 1
            """
        ).fetchall()
        if r[0] is not None
    ]
    total = con.execute("select count(*) from catalog.catalog_plans").fetchone()[0]
    return plans, departments, total


def begin_build(settings: Settings, plan: BuildPlan) -> None:
    """Before dbt starts. A scoped build writes the scope its models read (ops.refresh_scope). A full or
    models build forgets the recorded state first: if it does not finish, the tables are a mix of two
    evaluations, and the next refresh, whatever its dates, must build everything again. So does a UI
    selection (it rebuilds some models only, and never records a state). Only the mode is kept, so that the
    next refresh can say why it builds everything (`_why_unknown`)."""
    with connect(settings) as con:
        con.execute(STATE_DDL)
        con.execute(f"drop table if exists {REFRESH_SCOPE}")
        if plan.mode in ("full", "models", "subset"):
            con.execute("delete from ops.model_state")
            con.execute("insert into ops.model_state values ('mode', ?, ?)", [plan.mode, now_local()])
        if plan.mode == "scoped":
            con.execute(f"create table {REFRESH_SCOPE} (scope_key varchar, scope_value varchar)")
            rows = [["plan_id", p] for p in plan.plans] + [["department_code", d] for d in plan.departments]
            if rows:
                con.executemany(f"insert into {REFRESH_SCOPE} values (?, ?)", rows)


def end_build(settings: Settings) -> None:
    """After dbt, whatever its outcome: the scope table is only meaningful during the build."""
    with connect(settings) as con:
        con.execute(f"drop table if exists {REFRESH_SCOPE}")


def record_build(settings: Settings, plan: BuildPlan) -> None:
    """After a successful dbt run: the fingerprint it was built from, and the submissions it reflects."""
    stamp = now_local()
    with connect(settings) as con:
        con.execute(STATE_DDL)
        con.execute("begin transaction")
        try:
            if plan.mode == "scoped":
                con.execute("create or replace temp table covered (submission_id varchar)")
                con.executemany("insert into covered values (?)", [[s] for s in plan.submissions])
                con.execute(
                    """insert into ops.modelled_submissions
                       select submission_id, ? from covered
                       where submission_id not in (select submission_id from ops.modelled_submissions)""",
                    [stamp],
                )
            elif plan.mode in ("full", "models"):
                # a full build reads the whole ledger as it was when dbt started: every entry is reflected
                con.execute(
                    """insert into ops.modelled_submissions
                       select submission_id, ? from raw.submissions
                       where submission_id not in (select submission_id from ops.modelled_submissions)""",
                    [stamp],
                )
            con.execute("delete from ops.model_state")
            con.executemany(
                "insert into ops.model_state values (?, ?, ?)",
                [[k, v, stamp] for k, v in plan.fingerprint.items()]
                + [
                    ["mode", plan.mode, stamp],
                    ["plans", ",".join(plan.plans), stamp],
                    ["selector", plan.selector if plan.mode == "scoped" else "", stamp],
                ],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
