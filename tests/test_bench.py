"""The benchmark's district tier as a smoke test: it must finish (speed is measured by `make bench`)."""

from __future__ import annotations

import pytest

from bench.run import goals, run

pytestmark = pytest.mark.slow


def test_district_benchmark_runs_end_to_end():
    result = run("district", extras=False)  # the UI-style and 20-file runs are two more refreshes
    assert (
        result["size"]["files"] == 491 and result["size"]["plans"] == 2
    )  # the 14th and the illustrative 15th
    assert set(result["full"]["stages"]) == {
        "discover",
        "parse",
        "validate",
        "load",
        "dbt",
        "flags",
        "report",
        "publish",
    }
    assert result["full"]["peak_rss_mib"] > 50
    assert int(result["reference"]["stdout"].strip().splitlines()[-1]) > 0
    names = [name for name, _, _ in goals(result, {})]
    assert "make run ≤ 2.5× bare dbt build" in names and "incremental ≤ 50% of full" in names
