"""Where a number came from: `planwh lineage I19 2025` prints the value used for that indicator and
year, the file, department, sheet, row and receipt time behind it, and every version it superseded."""

from __future__ import annotations

import sys

from ..settings import Settings, to_the_second
from .connection import connect, fetch_dicts
from .publish import open_published


def lineage(con, code: str, year: int, plan: str | None = None) -> dict:
    plan_filter = "and plan_id = ?" if plan else ""
    params = [code, year] + ([plan] if plan else [])
    attainment = fetch_dicts(
        con,
        f"""select * from marts.fct_indicator_attainment
                                where indicator_code = ? and plan_year = ? {plan_filter}""",
        params,
    )
    history = fetch_dicts(
        con,
        f"""select * from marts.fct_indicator_value_history
                             where indicator_code = ? and period_year = ? {plan_filter}
                             order by period, value_type, version_number""",
        params,
    )
    return {"attainment": attainment, "history": history}


def print_lineage(
    settings: Settings, code: str, year: int, plan: str | None = None, published: bool = True
) -> int:
    code = code.upper()
    if published:
        con = open_published(settings.published_warehouse)
        info = lineage(con, code, year, plan)
        con.close()
    else:
        with connect(settings, read_only=True) as con:
            info = lineage(con, code, year, plan)
    if not info["attainment"]:
        print(
            f"No indicator {code} for plan year {year}" + (f" in plan {plan}" if plan else ""),
            file=sys.stderr,
        )
        return 2
    for row in info["attainment"]:
        print(f"{row['plan_id']} {code} {row['name_zh']} / {row['name_en']} — {year}")
        print(
            f"  status {row['status']} (method {row['target_method']}, as of {row['as_of_date']}); "
            + (
                f"value used: {row['actual_value']} {row['unit'] or ''} from period {row['actual_period']}"
                if row["actual_value"] is not None
                else "no value used (none received for this year)"
            )
        )
        if row["assigned_target"] is not None:
            print(
                f"  assigned target: {row['assigned_target']} (submission {row['assigned_target_submission_id']})"
            )
    if not info["history"]:
        print("  no value has been received for this year")
        return 0
    print("  values received (oldest first):")
    for h in info["history"]:
        state = "current" if h["is_latest"] else f"superseded by {h['superseded_by']} on {h['superseded_at']}"
        print(
            f"   - {h['period']} {h['value_type']}: {h['value']} — file '{h['original_name']}' "
            f"(department {h['department_code']}, sheet {h['sheet_name'] or '-'}, row {h['source_row']}, "
            f"received {to_the_second(h['received_at'])}, submission {h['submission_id']}) [{state}]"
        )
        if h["previous_value"] is not None:
            print(f"     replaced the earlier value {h['previous_value']}")
    return 0
