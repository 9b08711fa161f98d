"""The dbt project as Dagster assets: groups from the model folders, dbt tests as asset checks."""

import logging
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.dbt_child import WARM_ENV, WarmDbt, take_warm
from pipelines.defs.resources import PlanWarehouse
from pipelines.defs.transform.metadata import with_table_metadata
from pipelines.defs.transform.project import dbt_project
from pipelines.lib.faults import crash_point
from pipelines.lib.warehouse.connection import WarehouseLocked, connect, lock_message, writer_lock
from pipelines.lib.warehouse.dbt_state import dbt_dates, discard_foreign_partial_parse, target_dir
from pipelines.lib.warehouse.disk import DiskFull, disk_full_message, is_disk_full
from pipelines.lib.warehouse.housekeeping import register_child, unregister_child
from pipelines.lib.warehouse.refresh_scope import (
    FULL_BUILD_TAG,
    BuildPlan,
    begin_build,
    end_build,
    plan_build,
    record_build,
)

WRITER_POOL = "warehouse_writer"


class PlanTranslator(DagsterDbtTranslator):
    """Groups follow the dbt folders (staging, intermediate, marts); seeds form the `catalog` group.
    Owners come from dbt `meta.dagster.owners` (dbt_project.yml, one per folder). Descriptions are dbt's
    without the raw SQL dagster-dbt appends (the code is one click away in dbt docs); every dbt test
    becomes a check described in words: its own dbt description, else what the generic test asserts."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "catalog"
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transform"

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return (dbt_resource_props.get("description") or "").strip() or (
            f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
        )

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=test_description(manifest, manifest["nodes"][unique_id]))


_BUILT_IN_TESTS = {
    "unique": "唯一 — `{column}` is unique: no two rows share a value.",
    "not_null": "非空 — `{column}` is never empty.",
    "accepted_values": "取值范围 — `{column}` takes only the values {values}.",
    "relationships": "引用完整 — every `{column}` exists in {to}.`{field}`.",
}


def test_description(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """A dbt test in words: its dbt `description`, else its generic test's (built-in or documented in
    dbt_project/tests/generic/_generic__tests.yml) with the test's arguments filled in."""
    if (test.get("description") or "").strip():
        return test["description"].strip()
    generic = test.get("test_metadata") or {}
    name = generic.get("name")
    kwargs = generic.get("kwargs") or {}
    macro = manifest.get("macros", {}).get(f"macro.{generic.get('namespace') or 'planwh'}.test_{name}", {})
    template = (macro.get("description") or "").strip() or _BUILT_IN_TESTS.get(name)
    if not template:
        return f"dbt test {test['name']}"
    to = re.search(r"""ref\(\s*['"]([^'"]+)['"]""", str(kwargs.get("to", "")))
    return template.format(
        column=test.get("column_name") or kwargs.get("column_name") or "",
        columns=", ".join(kwargs.get("columns") or []),
        values=", ".join(f"`{v}`" for v in kwargs.get("values") or []),
        to=f"`{to.group(1)}`" if to else kwargs.get("to", ""),
        field=kwargs.get("field", ""),
    )


translator = PlanTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude="resource_type:unit_test",
    pool=WRITER_POOL,
)
def planwh_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, planwh: PlanWarehouse):
    """dbt build against the working warehouse at the run's evaluation date: a full build when the models,
    the catalog or the dates changed (and every night), else only the plans this run's files touched
    (pipelines/lib/warehouse/refresh_scope.py)."""
    # the build runs, and its events are gathered, with the writer lock held and the dates in the
    # environment; both are given back before the first event is handed to Dagster, so neither waits on how
    # (or whether) Dagster goes on iterating this generator
    if not any(isinstance(f, _QuietUnyieldedChecks) for f in context.log.filters):
        context.log.addFilter(_QuietUnyieldedChecks())  # this step's log only: a new one every run
    events, error = _build(context, dbt, planwh)
    yield from events
    if error is not None:
        raise error


def _start_dbt(context, dbt: DbtCliResource, args: list[str], warm: WarmDbt | None):
    """dagster-dbt's invocation of `planwh-dbt`, which hands it to the warm dbt when there is one (the
    socket is in dbt's environment for this start only)."""
    if warm is not None:
        os.environ[WARM_ENV] = str(warm.socket)
    try:
        return dbt.cli(args, context=context)
    finally:
        os.environ.pop(WARM_ENV, None)


def _build(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, planwh: PlanWarehouse
) -> tuple[list, BaseException | None]:
    """The dbt build: (the events to report, in dependency order; the error that fails the step, if any)."""
    settings = planwh.settings
    as_of_day, known_at = planwh.as_of_date(), planwh.known_at_date()
    as_of = as_of_day.isoformat()
    dates = dbt_dates(as_of_day, known_at)
    previous = {name: os.environ.get(name) for name in dates}
    os.environ.update(dates)
    os.environ["PLANWH_PARENT_PID"] = str(os.getpid())  # planwh-dbt dies with this process
    warm = take_warm(context.run_id)  # dbt imported by the run's first step (pipelines/dbt_child.py)
    try:
        with writer_lock(settings, f"run {context.run_id}: dbt build"):
            with connect(settings):  # fails fast, with the holder named, if someone has the file open
                pass
            if discard_foreign_partial_parse(
                dbt_project.project_dir, dbt_project.project_dir / dbt_project.target_path
            ):
                context.log.warning(
                    "dbt's partial-parse cache was made for another project path: full re-parse"
                )
            if context.is_subset:  # a selection from the UI: those models whole, and no state recorded
                build = BuildPlan("subset", "a selection of dbt assets", {})
            else:
                build = plan_build(
                    settings,
                    as_of,
                    known_at.isoformat() if known_at else None,
                    full=context.run.tags.get(FULL_BUILD_TAG) == "true",
                )
            context.log.info(
                f"evaluation date (as_of): {as_of}; knowledge cutoff (known_at): {known_at or 'none'}; "
                f"dbt build {build.describe()}"
            )
            if build.mode == "none":
                _say_tests_not_run(context, [], build.mode)
                return list(_unchanged(context, set(), build.mode)), None
            # dbt's events are held until dbt exits: the row counts and schemas are read after it (one
            # writer per DuckDB file), and a partial build must emit the outputs it leaves unchanged (always
            # upstream of, or beside, what it rebuilds) before its own: Dagster wants a multi-asset's
            # outputs in dependency order
            events, emitted, failure = [], set(), None
            begin_build(settings, build)
            try:
                invocation = _start_dbt(context, dbt, ["build", *build.dbt_args], warm)
                children = [(invocation.process.pid, "dbt build")]
                if warm is not None and warm.process.poll() is None:  # it may be the one running dbt
                    children.append((warm.process.pid, "dbt build (warm)"))
                for pid, what in children:
                    register_child(settings, pid, what, context.run_id)
                try:
                    for count, event in enumerate(invocation.stream(), start=1):
                        events.append(event)
                        if isinstance(event, dg.Output):
                            emitted.add(event.output_name)
                        if count == 20:
                            crash_point("dbt.mid_build")
                except Exception as error:  # dbt failed: still report what it built and tested, then fail
                    failure = error
                finally:
                    for pid, _what in children:
                        unregister_child(settings, pid)
                if failure is None:
                    keep_partial_parse(invocation.target_path, target_dir(dbt_project.project_dir))
            finally:
                end_build(settings)
            if failure is None and build.mode != "subset":
                record_build(settings, build)
            if failure is None:
                _say_tests_not_run(context, events, build.mode)
            reported = []
            if failure is None or build.mode in ("scoped", "models"):
                # what the build did not have to rebuild is current: say so, and let the steps after it run
                reported.extend(_unchanged(context, emitted, build.mode))
            reported.extend(
                with_table_metadata(
                    invocation, events, dbt_project.project_dir / dbt_project.target_path, settings.warehouse
                )
            )
            if failure is not None:
                return reported, _diagnose(failure, settings)
    finally:
        if warm is not None:
            warm.close()
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    prune_invocation_dirs(target_dir(dbt_project.project_dir))
    return reported, None


class _QuietUnrunChecks(logging.Filter):
    """Dagster warns once per check without a result when it decides whether the report may start: "Blocking
    asset check '…' emitted no result in step 'planwh_dbt'; downstream step '…' will proceed without gating
    on it", ~60 lines a scoped district refresh, which read as if tests had broken. They are the tests of the
    models the build did not rebuild; the dbt step says so in one line (`_say_tests_not_run`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "emitted no result in step 'planwh_dbt'" not in record.getMessage()


logging.getLogger("dagster._core.execution.plan.active").addFilter(_QuietUnrunChecks())


class _QuietUnyieldedChecks(logging.Filter):
    """When the step ends, Dagster logs to the run's event log, at INFO, every check output the step did not
    yield: "op 'planwh_dbt' did not yield or return expected outputs {…}", one line of ~21,000 characters
    naming ~211 checks whenever dbt did not run every test (a scoped build, nothing new, a selection). Every
    asset output is always yielded (`_unchanged`), so that line only ever lists the tests not run, which the
    step says in one line of its own (`_say_tests_not_run`). Added to the step's own log manager."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "did not yield or return expected outputs" not in record.getMessage()


def _say_tests_not_run(context: dg.AssetExecutionContext, events: list, mode: str) -> None:
    """One line for the dbt tests of this run's selection that the build did not run: those of the models it
    did not rebuild (their last results stand until the nightly full build runs every test)."""
    ran = {
        dg.AssetCheckKey(event.asset_key, event.check_name)
        for event in events
        if isinstance(event, dg.AssetCheckResult | dg.AssetCheckEvaluation)
    }
    not_run = sorted(
        (key for key in context.selected_asset_check_keys if key not in ran), key=lambda k: k.to_user_string()
    )
    if not not_run:
        return
    if mode == "none":
        context.log.info(
            f"dbt was not run (nothing new since the last build): the last results of its {len(not_run)} "
            "test(s) stand"
        )
        return
    models = sorted({key.asset_key.to_user_string() for key in not_run})
    line = (
        f"{len(not_run)} dbt test(s) not run, on {len(models)} model(s) or seed(s) this {mode} build did not rebuild "
        f"(their last results stand; the nightly full build runs every test): {', '.join(models)}"
    )
    if mode == "scoped":
        context.log.info(line)
    else:  # a full build or a selection runs the tests of everything it builds
        context.log.warning(line)


def _unchanged(context: dg.AssetExecutionContext, emitted: set[str], mode: str):
    """An output for every selected model this build did not rebuild (they are current), in dependency order."""
    for name in dependency_order(context.assets_def, context.selected_output_names - emitted):
        yield dg.Output(None, output_name=name, metadata={"status": "unchanged", "build": mode})


def dependency_order(assets_def: dg.AssetsDefinition, names: set[str]) -> list[str]:
    """Output names of a multi-asset, each after the ones it depends on."""
    key_of = {assets_def.get_output_name_for_asset_key(key): key for key in assets_def.keys}
    name_of = {key: name for name, key in key_of.items()}
    deps = assets_def.asset_deps
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in sorted(deps.get(key_of[name], ()), key=lambda k: k.to_user_string()):
            if name_of.get(dep) in names:
                visit(name_of[dep])
        ordered.append(name)

    for name in sorted(names & key_of.keys()):  # asset outputs only (not the checks')
        visit(name)
    return ordered


def _diagnose(exc: Exception, settings) -> Exception:
    """dbt's failure, as the cause an operator can act on when it is one we know: the file held by
    another process, or a full disk (dbt's own message hides it in hundreds of lines)."""
    text = str(exc)
    if is_disk_full(text):
        return DiskFull(
            disk_full_message({"warehouse": settings.warehouse, "dbt target": dbt_project.project_dir})
        )
    if "could not set lock" in text.lower() or "conflicting lock" in text.lower():
        match = re.search(r"PID (\d+)", text)
        return WarehouseLocked(lock_message(settings.warehouse, match.group(1) if match else None))
    return exc


def keep_partial_parse(invocation_target: Path, project_target: Path) -> None:
    """dagster-dbt starts each invocation from the project's partial-parse state; that state was written
    without the run's PLANWH_AS_OF, so dbt re-parsed every model reading the date on every run (13 files,
    ~3 s). Keep the state the last successful build left, so the next run at the same date parses nothing."""
    state = invocation_target / "partial_parse.msgpack"
    if state.is_file():
        staged = project_target / f".partial_parse.{os.getpid()}.tmp"
        shutil.copyfile(state, staged)
        os.replace(staged, project_target / "partial_parse.msgpack")


def prune_invocation_dirs(target: Path, keep: int = 5) -> None:
    """dagster-dbt gives every invocation its own target directory; keep only the latest few."""
    dirs = sorted((p for p in target.glob("planwh_dbt-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    for old in dirs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
