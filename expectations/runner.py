"""Run a suite over a batch with GX (imported lazily: the import costs seconds) and attribute failures."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import time
import types
from dataclasses import dataclass, field

import pandas as pd

from pipelines.lib.plans.catalog import Catalog

from . import indicator_data, indicator_plausibility, project_progress
from .rules import Rule

SUITE_MODULES = {
    indicator_data.NAME: indicator_data,
    project_progress.NAME: project_progress,
    indicator_plausibility.NAME: indicator_plausibility,
}

_GX = None  # (gx module, gxe module, context)
_GX_LOCK = threading.Lock()


class _Deferred(types.ModuleType):
    """Stands for a module until its first attribute is read; then imports the real one (once, under a
    lock: a portal's worker threads may get there together), puts it in its place and answers from it. A
    failed import leaves this stand-in in place and raises, so the next use tries again."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__dict__.update(_real=None, _loading=False)

    def __getattr__(self, attribute: str):  # only for names this stand-in does not have itself
        real = self.__dict__["_real"]
        if real is None:
            with _DEFER_LOCK:
                real = self.__dict__["_real"]
                if real is None and self.__dict__["_loading"]:
                    # the real module's own import reached this stand-in: answer from what it has so far
                    return getattr(sys.modules[self.__name__], attribute)
                if real is None:
                    self.__dict__["_loading"] = True
                    try:
                        real = self.__dict__["_real"] = _import_in_place_of(self)
                    finally:
                        self.__dict__["_loading"] = False
        return getattr(real, attribute)


_DEFER_LOCK = threading.RLock()


def _import_in_place_of(stand_in: _Deferred) -> types.ModuleType:
    """Import the module a stand-in stands for; the import system then sets it on its package too (until
    then, and after a failed import, the package's attribute is still the stand-in)."""
    name = stand_in.__name__
    del sys.modules[name]
    try:
        return importlib.import_module(name)
    except BaseException:
        sys.modules[name] = stand_in
        raise


def _defer_scipy_stats() -> None:
    """Put a stand-in for scipy.stats in place before GX is imported.

    GX imports scipy.stats at module level for two kinds of expectation no suite here uses (KL divergence,
    Kolmogorov-Smirnov): about 0.8 s of its ~3 s import, paid by every refresh that validates a file, every
    portal start and every test worker. The stand-in GX receives imports the real module on its first
    attribute use, so one of those expectations, or any other user of scipy.stats, still gets it. It is set
    as an attribute of the scipy package too: `from scipy import stats` then finds it there."""
    if "scipy.stats" in sys.modules:
        return
    try:
        import scipy
    except ImportError:
        return
    if importlib.util.find_spec("scipy.stats") is None:
        return
    stand_in = _Deferred("scipy.stats")
    sys.modules["scipy.stats"] = stand_in
    scipy.stats = stand_in


def _gx():
    global _GX
    with _GX_LOCK:  # portal requests run in worker threads: GX is imported and its context made once
        if _GX is None:
            os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
            _defer_scipy_stats()
            import great_expectations as gx
            import great_expectations.expectations as gxe
            from great_expectations.data_context.types.base import ProgressBarsConfig

            context = gx.get_context(mode="ephemeral")
            context.variables.progress_bars = ProgressBarsConfig(globally=False)
            _GX = (gx, gxe, context)
    return _GX


@dataclass
class Failure:
    row_id: int
    reason: str
    column: str
    value: object
    expected: object
    warning: bool


@dataclass
class SuiteReport:
    suite: str
    rows: int
    success: bool
    seconds: float
    failures: list[Failure] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)  # per expectation: type, reason, success, unexpected


def build_suite(kind: str, catalog: Catalog):
    """The GX ExpectationSuite for a submission kind (e.g. for Data Docs or inspection)."""
    gx, gxe, _ = _gx()
    suite = gx.ExpectationSuite(name=kind)
    for rule in SUITE_MODULES[kind].rules(catalog):
        suite.add_expectation(rule.build(gxe))
    return suite


def unflagged_report(kind: str, rows: int, catalog: Catalog) -> SuiteReport:
    """The report of a suite run over rows none of which can fail it: every rule passed, nothing unexpected.

    For the soft checks, whose rules compare columns pipelines/lib/submissions/plausibility.py derived:
    when it flagged no row, a GX run (about a second per batch) would only confirm that."""

    report = SuiteReport(kind, rows, True, 0.0)
    for rule in SUITE_MODULES[kind].rules(catalog):
        report.results.append(
            {
                "expectation": re.sub(r"(?<!^)(?=[A-Z])", "_", rule.expectation).lower(),
                "reason": rule.reason,
                "column": rule.column,
                "success": True,
                "unexpected": 0,
                "warning": rule.warning,
            }
        )
    return report


def suite_columns(rules: list[Rule], available) -> list[str]:
    """The columns a suite's rules read (their columns, row conditions and quoted values), and row_id."""
    names = {"row_id"}
    for rule in rules:
        kwargs = rule.kwargs
        names.update(kwargs[key] for key in ("column", "column_A", "column_B") if kwargs.get(key))
        names.update(kwargs.get("column_list") or ())
        names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", kwargs.get("row_condition") or ""))
        names.update(c for c in (rule.value_column, rule.expected_column) if c)
    return [c for c in available if c in names]


def _display(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    return value


def validate(kind: str, batch: pd.DataFrame, catalog: Catalog) -> SuiteReport:
    """Validate all rows of a batch in one GX run; return every failing (row, rule)."""
    started = time.perf_counter()
    if batch.empty:
        return SuiteReport(kind, 0, True, 0.0)
    gx, gxe, context = _gx()
    rules: list[Rule] = SUITE_MODULES[kind].rules(catalog)
    # GX filters and copies the whole frame for every rule with a row condition, and hashes it for the batch:
    # hand it only the columns the rules read (33 of an indicator batch's 53, 10 of the soft checks' 64)
    batch = batch[suite_columns(rules, batch.columns)]
    suite = gx.ExpectationSuite(name=f"{kind}_{time.monotonic_ns()}")
    by_id: dict[str, Rule] = {}
    for rule in rules:
        exp = rule.build(gxe)
        suite.add_expectation(exp)
    suite = context.suites.add(suite)
    for exp, rule in zip(suite.expectations, rules, strict=True):
        by_id[exp.id] = rule
    source_name = f"batch_{kind}"
    try:
        source = context.data_sources.get(source_name)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(source_name)
    try:
        asset = source.get_asset("rows")
    except (LookupError, ValueError):
        asset = source.add_dataframe_asset("rows")
    try:
        definition = asset.get_batch_definition("whole")
    except (KeyError, ValueError, LookupError):
        definition = asset.add_batch_definition_whole_dataframe("whole")
    validation = gx.ValidationDefinition(name=suite.name, data=definition, suite=suite)
    result = validation.run(
        batch_parameters={"dataframe": batch},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row_id"]},
    )
    context.suites.delete(suite.name)
    # each failing row's value and expected value, taken by position for all of a rule's rows at once
    # (DataFrame.loc per failing row built a whole row each time: seconds for a province's batch)
    position = pd.Index(batch["row_id"])
    report = SuiteReport(kind, len(batch), bool(result.success), 0.0)
    for res in result.results:
        rule = by_id[res.expectation_config.id]
        if res.exception_info and res.exception_info.get("raised_exception"):
            raise RuntimeError(
                f"GX expectation {rule.expectation} ({rule.reason}) raised: {res.exception_info.get('exception_message')}"
            )
        indices = [int(entry["row_id"]) for entry in (res.result or {}).get("unexpected_index_list") or []]
        report.results.append(
            {
                "expectation": res.expectation_config.type,
                "reason": rule.reason,
                "column": rule.column,
                "success": bool(res.success),
                "unexpected": len(indices),
                "warning": rule.warning,
            }
        )
        if not indices:
            continue
        at = position.get_indexer(indices)
        if (at < 0).any():
            raise RuntimeError(f"GX reported rows that are not in the batch for {rule.reason}")
        values = batch[rule.value_column].iloc[at].tolist() if rule.value_column else [None] * len(at)
        if rule.expected_text:
            expected = [rule.expected_text] * len(at)
        elif rule.expected_column:
            expected = batch[rule.expected_column].iloc[at].tolist()
        else:
            expected = [None] * len(at)
        for row_id, value, wanted in zip(indices, values, expected, strict=True):
            report.failures.append(
                Failure(row_id, rule.reason, rule.column, _display(value), _display(wanted), rule.warning)
            )
    report.success = not any(not f.warning for f in report.failures)
    report.seconds = time.perf_counter() - started
    return report
