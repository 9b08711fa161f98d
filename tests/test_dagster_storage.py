"""Dagster's event log as the instance writes it (pipelines/dagster_storage.py): a run of asset checks
stores its events without asking SQLite about the index database's tables for each one."""

from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from pipelines.dagster_storage import PooledSqliteEventLogStorage
from pipelines.runs import write_instance_yaml

CHECKS = 12


class IndexConnections:
    """Counts the SQLite connections opened on the event log's index database (every engine's, the stock
    storage's included): a real count of what the storage does, nothing replaced."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        sa.event.listen(sa.engine.Engine, "connect", self._connected)
        return self

    def __exit__(self, *exc):
        sa.event.remove(sa.engine.Engine, "connect", self._connected)

    def _connected(self, dbapi_connection, _record):
        if dbapi_connection.execute("pragma database_list").fetchone()[2].endswith("index.db"):
            self.count += 1


def _checked_job():
    @dg.asset(check_specs=[dg.AssetCheckSpec(f"check_{n}", asset="thing") for n in range(CHECKS)])
    def thing():
        yield dg.MaterializeResult()
        for n in range(CHECKS):
            yield dg.AssetCheckResult(check_name=f"check_{n}", passed=True)

    return dg.Definitions(assets=[thing]).resolve_implicit_global_asset_job_def()


def test_asset_check_events_do_not_each_open_the_index_database(tmp_path):
    write_instance_yaml(tmp_path)
    job = _checked_job()
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert job.execute_in_process(instance=instance).success  # the index database made, tables found
        with IndexConnections() as opened:
            result = job.execute_in_process(instance=instance)
        assert result.success
        stored = instance.get_records_for_run(
            result.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
        assert len(stored.records) == CHECKS
        # 2 x CHECKS asset-check events (planned, evaluated): the stock storage opened the index database
        # for each, to ask whether its table exists
        assert opened.count <= 2, opened.count


def test_a_missing_table_is_asked_again_and_a_wipe_forgets_what_was_found(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path))
    try:
        with IndexConnections() as opened:
            assert storage.supports_asset_checks
            first = opened.count
            assert storage.has_table("asset_check_executions") and opened.count == first  # remembered
            assert not storage.has_table("no_such_table")
            assert not storage.has_table("no_such_table")
            assert opened.count == first + 2  # a table missing now may be made by a migration
            storage.wipe()
            assert storage.has_table("asset_check_executions")
            assert opened.count > first + 2  # asked again after the files were deleted and made anew
    finally:
        storage.dispose()


def test_the_run_storage_is_where_the_settings_say_whatever_the_current_folder(tmp_path, monkeypatch):
    """The shipped dagster.yaml names its storage under `storage: custom: config: base_dir` (a relative
    .dagster/storage). That key was not among those the settings and local_instance() look for, so a
    refresh started from another folder (cron, systemd: `cd /`) wrote its run history into
    <that folder>/.dagster/storage, where neither the UI nor the retention looks, and
    PLANWH_DAGSTER_STORAGE was ignored for it."""
    from pathlib import Path

    from pipelines.lib.settings import REPO_ROOT, instance_folder
    from pipelines.runs import INSTANCE_YAML, local_instance

    home = tmp_path / "home"
    home.mkdir()
    text = INSTANCE_YAML.read_text(encoding="utf-8")
    assert "custom:" in text and "base_dir: .dagster/storage" in text
    (home / "dagster.yaml").write_text(
        text.replace(".dagster/storage", "elsewhere/storage"), encoding="utf-8"
    )
    assert instance_folder(home, "storage") == REPO_ROOT / "elsewhere" / "storage"

    elsewhere, storage = tmp_path / "cwd", tmp_path / "runs"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("PLANWH_DAGSTER_STORAGE", str(storage))
    monkeypatch.setenv("PLANWH_DAGSTER_COMPUTE_LOGS", str(tmp_path / "logs"))
    with local_instance() as instance:
        result = _job_for_storage_test.execute_in_process(instance=instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id) is not None
    assert not (elsewhere / ".dagster").exists() and not Path(REPO_ROOT / "elsewhere").exists()
    assert (storage / "history" / "runs.db").is_file()


@dg.job
def _job_for_storage_test():
    @dg.op
    def nothing():
        return None

    nothing()
