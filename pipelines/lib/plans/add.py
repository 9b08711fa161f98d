"""`planwh plan add FOLDER`: merge a reviewed draft into the seeds (the one place the catalog lives).

Nothing is written unless the seeds with the draft merged pass `planwh plan check`. The draft's review
columns (confidence, review, suggestion) are dropped; a plan already in the seeds is replaced only with
`--replace`. The outline's text is copied under docs/source/ when it lives elsewhere, so the quotes stay
checkable. Each seed file is rewritten atomically, keeping its column order and the other plans' rows.
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .catalog import SEEDS
from .check import REPO, Problem, check, combined, read_tables
from .draft import REVIEW_COLUMNS
from .outline import Outline


@dataclass
class AddResult:
    plan_ids: set[str]
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # rows of the added plan(s) per seed
    written: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def add(folder: Path, seeds_dir: Path, *, replace: bool = False, repo: Path = REPO) -> AddResult:
    seeds = read_tables(seeds_dir)
    draft = read_tables(folder)
    result = AddResult(set(draft.get("catalog_plans", pd.DataFrame({"plan_id": []}))["plan_id"]))
    if "catalog_plans" not in draft or not result.plan_ids:
        result.problems.append(
            Problem(
                f"{folder}/catalog_plans.csv",
                None,
                "",
                "",
                "missing or empty: nothing to add",
                "缺失或为空：没有可添加的内容",
            )
        )
        return result
    for name, frame in draft.items():
        unknown = [c for c in frame.columns if c not in seeds[name].columns and c not in REVIEW_COLUMNS]
        missing = [c for c in seeds[name].columns if c not in frame.columns]
        for column in unknown:
            result.problems.append(
                Problem(f"{folder}/{name}.csv", 1, "", column, "not a column of the seed", "不是目录表的列")
            )
        for column in missing:
            result.problems.append(
                Problem(f"{folder}/{name}.csv", 1, "", column, "column missing", "缺少该列")
            )
    existing = set(seeds["catalog_plans"]["plan_id"]) & result.plan_ids
    if existing and not replace:
        result.problems.append(
            Problem(
                f"{folder}/catalog_plans.csv",
                None,
                ", ".join(sorted(existing)),
                "plan_id",
                "already in the seeds: pass --replace to replace that plan's rows",
                "已在目录中：如要替换该规划的记录，请加 --replace",
            )
        )
    copies = _adopt_source(draft["catalog_plans"], folder, repo)
    merged, plan_ids, offsets = combined(seeds, draft)
    sources = {plan_id: Outline.read(path) for plan_id, (path, _) in copies.items()}
    result.problems += check(
        merged, only_plans=plan_ids, sources=sources, offsets=offsets, folder=f"{folder}/"
    )
    if result.problems:
        return result
    for path, target in copies.values():  # only now: a refused add writes nothing
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for name in SEEDS:
        if name not in draft:
            continue
        path = seeds_dir / f"{name}.csv"
        key = {"catalog_departments": "department_code", "catalog_milestone_types": "milestone_code"}.get(
            name, "plan_id"
        )
        replaced = set(draft[name][key]) if key != "plan_id" else plan_ids
        added = merged[name][merged[name][key].isin(replaced)]
        _rewrite(path, key, replaced, added)
        result.written.append(path)
        result.rows[name] = len(added)
    return result


def _rewrite(path: Path, key: str, replaced: set[str], rows: pd.DataFrame) -> None:
    """Keep every other record byte for byte (other branches edit these files too: small diffs merge
    cleanly), drop the records being replaced and append the new ones, atomically."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    position = reader.line_num
    kept = lines[:position]
    column = header.index(key)
    for record in reader:
        span = lines[position : reader.line_num]
        position = reader.line_num
        if record and record[column] not in replaced:
            kept.extend(span)
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows[header].itertuples(index=False):
        writer.writerow(["" if v is None else v for v in row])
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(kept) + out.getvalue(), encoding="utf-8")
    tmp.replace(path)


def _adopt_source(plans: pd.DataFrame, folder: Path, repo: Path) -> dict[str, tuple[Path, Path]]:
    """An outline outside the repository goes to docs/source/ and the plan row points there. Returns,
    per plan, the outline to copy and where (the copy is made once the check has passed). Another
    plan's outline already there under the same name (two offices both saving 纲要.txt) is never
    overwritten: the copy is then named after the plan."""
    copies: dict[str, tuple[Path, Path]] = {}
    for index, row in plans.iterrows():
        source = row.get("source_document", "")
        if not source:
            continue
        path = Path(source)
        if not path.is_absolute():
            candidates = [repo / path, folder / path, Path.cwd() / path]
            path = next((p for p in candidates if p.exists()), repo / path)
        if not path.exists():
            continue
        try:
            relative = path.resolve().relative_to(repo.resolve())
        except ValueError:
            target = repo / "docs" / "source" / path.name
            if target.exists() and target.read_bytes() != path.read_bytes():
                target = target.with_name(f"{row['plan_id']}_{path.name}")
            copies[row["plan_id"]] = (path, target)
            relative = target.relative_to(repo)
        plans.at[index, "source_document"] = relative.as_posix()
    return copies
