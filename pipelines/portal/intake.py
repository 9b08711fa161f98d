"""Upload → receipt → (explanations) → inbox, with the one validation core kept warm.

An upload is stored unchanged and read-only under PLANWH_PORTAL_DIR/uploads/<upload_id>/ (its name is
metadata, never a path), checked by pipelines/lib/submissions/check.py exactly as the pipeline checks
a file, and answered with the receipt. What reaches raw/inbox/<department_code>/portal/ is exactly
the rows the core accepted, in the contract's CSV form (docs/submissions.md), one file per kind:
hard errors never reach the inbox, and a soft-check warning reaches it only with its explanation in
the explanation column. Files are written atomically (temporary file outside the inbox, then rename).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from pipelines.lib.ingest.inbox import make_submission_id
from pipelines.lib.plans.catalog import Catalog
from pipelines.lib.settings import now_local
from pipelines.lib.submissions.check import CheckedBatch, check_file, verdict
from pipelines.lib.submissions.plausibility import PREVIOUS_COLUMNS, previous_values_from
from pipelines.lib.submissions.readers import HEADINGS_EN, HEADINGS_ZH, INDICATOR, PROGRESS
from pipelines.lib.submissions.receipts import build_receipt as core_receipt
from pipelines.lib.submissions.receipts import department_names

from .accounts import Accounts
from .config import PortalConfig
from .labels import label
from .snapshot import Snapshot

EXPLANATION_MIN_CHARS = 5
EXPLANATION_MAX_CHARS = 1000
KIND_LABEL = {INDICATOR: "指标数据", PROGRESS: "项目进度"}
VALUE_TYPE_LABEL = {"actual": "实际值", "assigned_target": "下达目标"}  # as the template writes them
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class IntakeError(Exception):
    """A request the portal refuses, with a bilingual reason and an HTTP status."""

    def __init__(self, status: int, zh: str, en: str, detail: dict | None = None):
        super().__init__(en)
        self.status, self.zh, self.en, self.detail = status, zh, en, detail or {}


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    """Who acts: the department comes from the session or the API token, never from the request."""

    department_code: str
    actor: str  # "user:<name>" or "token:<id>"


def display_name(name: str | None) -> str:
    """The file name as metadata: last path component, no control characters, bounded length."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = _CONTROL.sub("", base).strip().strip(".") or "upload"
    return base[:150]


def new_upload_id() -> str:
    return f"P{now_local().strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(4)}"


def valid_upload_id(upload_id: str) -> bool:
    return re.fullmatch(r"P\d{14}-[0-9a-f]{8}", upload_id or "") is not None


class Intake:
    def __init__(self, config: PortalConfig, accounts: Accounts, catalog: Catalog, snapshot: Snapshot):
        self.config = config
        self.accounts = accounts
        self.catalog = catalog
        self.snapshot = snapshot
        self.departments = department_names(catalog)
        self._lock = threading.Lock()  # one check at a time: GX's context is not meant for threads
        self.warm_seconds: float | None = None

    def check(self, path: Path, name: str, department_code: str, received: datetime) -> CheckedBatch:
        """The validation core on one file, soft checks against the values the pipeline will compare it
        with: the published snapshot's accepted values and the rows of this department's uploads
        forwarded since (in the inbox, not yet in the snapshot), which the pipeline loads before it."""
        with self.snapshot.connect() as con:
            published = _safe_previous(previous_values_from(con)) if con is not None else None
            forwarded = self.forwarded_values(department_code)
            # written before this check (a receipt time is kept to the second, a write to the microsecond)
            latest = pd.Timestamp(received) - pd.Timedelta(microseconds=1)
            forwarded["received_at"] = pd.to_datetime(forwarded["received_at"]).clip(upper=latest)
            previous = _overlay(published, forwarded)
            with self._lock:
                return check_file(
                    path, name, department_code, self.catalog, previous=previous, received_at=received
                )

    def forwarded_values(self, department_code: str, limit: int = 500) -> pd.DataFrame:
        """The actual values this department's forwarded uploads wrote into the inbox and the published
        snapshot does not hold yet (the pipeline has not recorded their file), in the shape of
        plausibility.PREVIOUS_COLUMNS: accepted or explained rows only (held rows never reach the inbox)."""
        region = self.catalog.department_region().get(department_code)
        plans = self.catalog.plans[self.catalog.plans["region_code"] == region]
        uploads = self.accounts.uploads(department_code, limit=limit, status="forwarded")
        files = [
            (upload, item)
            for upload in uploads
            for item in upload.get("forwarded") or []
            if item.get("kind") == INDICATOR
        ]
        recorded = self.snapshot.recorded_names(department_code, [item["name"] for _, item in files])
        rows = []
        for upload, item in files:
            if item["name"] in recorded:
                continue
            ledger, _ = self.snapshot.forwarded_file(
                department_code, item["name"], item["sha256"], written_at(item)
            )
            if ledger is not None:  # the same content as the department's latest word: in the snapshot
                continue
            explanations = {int(k): v for k, v in (upload.get("explanations") or {}).items()}
            for row in (upload.get("prepared") or {}).get(INDICATOR) or []:
                cells = row["cells"]
                if cells.get("value_type") not in ("", VALUE_TYPE_LABEL["actual"], "actual"):
                    continue
                try:
                    value = float(cells["value"])
                    year = int(str(cells["period"])[:4])
                except (TypeError, ValueError):
                    continue
                plan = plans[(plans["start_year"] <= year) & (plans["end_year"] >= year)]
                if plan.empty:
                    continue
                texts = [cells.get("explanation") or ""] + [
                    explanations[i] for i in row["issues"] if i in explanations
                ]
                rows.append(
                    {
                        "plan_id": plan["plan_id"].iloc[0],
                        "indicator_code": cells["indicator_code"],
                        "period": str(cells["period"]),
                        "value": value,
                        "received_at": pd.Timestamp(written_at(item)),
                        "submission_id": item["submission_id"],
                        "explanation": "；".join(dict.fromkeys(t for t in texts if t)) or None,
                    }
                )
        return pd.DataFrame(rows, columns=list(PREVIOUS_COLUMNS))

    # ------------------------------------------------------------------ warm-up
    def warm_up(self) -> float:
        """Import GX and run one check through every stage, so the first clerk does not wait for it."""
        t0 = time.perf_counter()
        import expectations  # noqa: F401  (the slow import)

        owners = self.catalog.indicators.dropna(subset=["owner_department_code"])
        row = owners.iloc[0]
        year = int(self.catalog.plans["start_year"].min())
        folder = self.config.state_dir / "warmup"
        folder.mkdir(parents=True, exist_ok=True)
        sample = folder / "warmup.csv"
        sample.write_text(
            "指标编号,统计期,数值\n" + f"{row['code']},{year},1\n" + f"{row['code']},{year},x\n",
            encoding="utf-8",
        )
        self.check(sample, "warmup.csv", row["owner_department_code"], now_local())
        shutil.rmtree(folder, ignore_errors=True)
        self.warm_seconds = time.perf_counter() - t0
        return self.warm_seconds

    # ------------------------------------------------------------------ upload
    def receive(
        self, principal: Principal, filename: str | None, stream, size_hint: int | None = None
    ) -> dict:
        """Store, check and answer one upload; forward it at once when nothing needs an explanation."""
        name = display_name(filename)
        upload_id = new_upload_id()
        folder = self.config.uploads_dir / principal.department_code / upload_id
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stored = folder / "original"
        sha, size = self._store(stream, stored)
        received = now_local()
        checked = self.check(stored, name, principal.department_code, received)
        receipt = build_receipt(checked, upload_id, self.departments)
        prepared = prepare_rows(checked, receipt["issues"])
        record = {
            "upload_id": upload_id,
            "department_code": principal.department_code,
            "actor": principal.actor,
            "original_name": name,
            "sha256": sha,
            "size_bytes": size,
            "received_at": received.isoformat(),
            "status": _initial_status(receipt),
            "receipt": receipt,
            "prepared": prepared,
        }
        self.accounts.add_upload(record)
        self.accounts.audit(
            principal.actor, "upload", {"upload_id": upload_id, "name": name, "verdict": receipt["verdict"]}
        )
        if record["status"] == "forwarded":
            self._forward(principal, upload_id, explanations={})
        return self.get(principal.department_code, upload_id)

    def _store(self, stream, target: Path) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > self.config.max_upload_bytes:
                    raise TooLarge()
                digest.update(chunk)
                os.write(fd, chunk)
        except TooLarge:
            os.close(fd)
            shutil.rmtree(target.parent, ignore_errors=True)
            raise
        os.close(fd)
        os.chmod(target, 0o400)
        return digest.hexdigest(), size

    def get(self, department_code: str | None, upload_id: str) -> dict | None:
        """One upload; one held past the limit is expired now (whatever ran last), so it can no longer
        be explained and forwarded."""
        if not valid_upload_id(upload_id):
            return None
        record = self.accounts.upload(upload_id, department_code)
        if record is not None and self._expire_if_due(record):
            record = self.accounts.upload(upload_id, department_code)
        return record

    def _expire_if_due(self, record: dict) -> bool:
        if record["status"] != "needs_explanation":
            return False
        cutoff = now_local().timestamp() - self.config.held_upload_days * 86400
        if datetime.fromisoformat(record["received_at"]).timestamp() >= cutoff:
            return False
        if not self.accounts.update_upload(
            record["upload_id"], expected_status="needs_explanation", status="expired"
        ):
            return False
        self.accounts.audit("portal", "expire", {"upload_id": record["upload_id"]})
        return True

    # ------------------------------------------------------------------ explanations
    def explain(self, principal: Principal, upload_id: str, explanations: dict[int, str]) -> dict:
        record = self.get(principal.department_code, upload_id)  # expires it when held too long
        if record is None:
            raise IntakeError(404, "没有这份报送。", "No such submission.")
        if record["status"] == "expired":
            days = self.config.held_upload_days
            raise IntakeError(
                409,
                f"这份报送等待说明超过 {days} 天，已过期，没有数据送达。请重新上传（写明说明）。",
                f"This submission waited for explanations more than {days} days and has expired; nothing "
                "was sent on. Upload the file again (with the explanations).",
            )
        if record["status"] != "needs_explanation":
            raise IntakeError(
                409,
                f"这份报送当前状态为“{label(record['status'])[0]}”，不需要（或已不能）填写说明。",
                f"This submission is {label(record['status'])[1]}: it takes no explanation now.",
            )
        issues = record["receipt"]["issues"]
        wanted = [
            i
            for i, issue in enumerate(issues)
            if issue.get("needs_explanation") and not issue.get("explanation")
        ]
        cleaned: dict[int, str] = {}
        problems = []
        for index, text in explanations.items():
            if index not in wanted:
                problems.append({"issue_index": index, "problem": "not_a_warning_needing_explanation"})
                continue
            text = _CONTROL.sub("", str(text or "")).strip()
            if len(text) < EXPLANATION_MIN_CHARS:
                problems.append({"issue_index": index, "problem": "too_short"})
            elif len(text) > EXPLANATION_MAX_CHARS:
                problems.append({"issue_index": index, "problem": "too_long"})
            else:
                cleaned[index] = text
        missing = [i for i in wanted if i not in explanations or not str(explanations[i] or "").strip()]
        problems = [p for p in problems if p["issue_index"] not in missing]
        if missing or problems:
            zh, en = _explanation_problems(missing, problems)
            raise IntakeError(
                422,
                f"请为每条核实性警告填写说明（{EXPLANATION_MIN_CHARS}–{EXPLANATION_MAX_CHARS} 个字）。" + zh,
                f"Write an explanation ({EXPLANATION_MIN_CHARS}–{EXPLANATION_MAX_CHARS} characters) for every "
                "warning that needs one. " + en,
                {"missing": missing, "problems": problems},
            )
        return self._forward(principal, upload_id, cleaned)

    def expire_held(self, department_code: str | None = None) -> int:
        """Uploads awaiting an explanation longer than the configured days are dropped (status expired):
        run before any list of held uploads is shown (and by get() for one upload)."""
        held = self.accounts.uploads(department_code, limit=100_000, status="needs_explanation")
        return sum(1 for record in held if self._expire_if_due(record))

    def explain_pending(self, principal: Principal, texts: dict[str, str]) -> dict:
        """Explain values already loaded as pending_explanation (arrived by any path): a generated file
        repeats each row (same indicator, period, value type and value) with its explanation, and goes
        through the same check and into the inbox like any upload (the contract's "a later submission
        that repeats the row with an explanation explains it")."""
        pending = {
            r["indicator_value_key"]: r for r in self.snapshot.pending_values(principal.department_code)
        }
        chosen, problems = [], []
        for key, text in texts.items():
            text = _CONTROL.sub("", str(text or "")).strip()
            if not text:
                continue
            if key not in pending or not EXPLANATION_MIN_CHARS <= len(text) <= EXPLANATION_MAX_CHARS:
                problems.append(key)
            else:
                chosen.append((pending[key], text))
        if problems or not chosen:
            raise IntakeError(
                422,
                f"请为要说明的数值填写 {EXPLANATION_MIN_CHARS}–{EXPLANATION_MAX_CHARS} 个字的说明。",
                f"Write an explanation of {EXPLANATION_MIN_CHARS}–{EXPLANATION_MAX_CHARS} characters for "
                "the values you explain.",
                {"problems": problems},
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(["指标编号", "统计期", "数值类型", "数值", "说明"])
        for row, text in chosen:
            writer.writerow(
                [
                    row["indicator_code"],
                    row["period"],
                    VALUE_TYPE_LABEL.get(row["value_type"], row["value_type"]),
                    _cell(float(row["value"])),
                    text,
                ]
            )
        name = f"说明补充_{now_local().strftime('%Y%m%d%H%M')}.csv"
        return self.receive(principal, name, io.BytesIO(buffer.getvalue().encode("utf-8-sig")))

    def cancel(self, principal: Principal, upload_id: str) -> dict:
        record = self.get(principal.department_code, upload_id)
        if record is None:
            raise IntakeError(404, "没有这份报送。", "No such submission.")
        if not self.accounts.update_upload(
            upload_id, expected_status="needs_explanation", status="cancelled"
        ):
            raise IntakeError(
                409,
                "只有等待说明的报送可以撤回。",
                "Only a submission awaiting explanations can be cancelled.",
            )
        self.accounts.audit(principal.actor, "cancel", {"upload_id": upload_id})
        return self.get(principal.department_code, upload_id)

    # ------------------------------------------------------------------ into the inbox
    def _forward(self, principal: Principal, upload_id: str, explanations: dict[int, str]) -> dict:
        record = self.get(principal.department_code, upload_id)
        assert record is not None
        expected = record["status"]
        files = []
        for kind, rows in (record["prepared"] or {}).items():
            if not rows:
                continue
            text = render_csv(kind, rows, {int(k): v for k, v in explanations.items()})
            files.append((kind, text.encode("utf-8-sig")))
        stamp = now_local().strftime("%Y%m%d-%H%M%S")
        stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", Path(record["original_name"]).stem)[:60].strip("_")
        written = []
        # claim the upload first so two clicks cannot write it twice
        receipt = dict(record["receipt"])
        if explanations:
            receipt = with_explanations(receipt, explanations)
        if not self.accounts.update_upload(
            upload_id,
            expected_status=expected,
            status="forwarded",
            receipt=receipt,
            explanations={str(k): v for k, v in explanations.items()},
        ):
            raise IntakeError(409, "这份报送已处理过。", "This submission was already handled.")
        try:
            for kind, data in files:
                name = f"portal/{stamp}_{upload_id}_{stem or 'upload'}_{KIND_LABEL[kind]}.csv"
                written_at = now_local(precise=True)  # before the file: its receipt is later
                self._write_inbox(principal.department_code, name, data)
                sha = hashlib.sha256(data).hexdigest()
                written.append(
                    {
                        "name": name,
                        "kind": kind,
                        "rows": len(record["prepared"][kind]),
                        "sha256": sha,
                        "submission_id": make_submission_id(principal.department_code, sha),
                        "written_at": written_at.isoformat(),
                    }
                )
        except OSError:
            # e.g. a full disk: an upload awaiting explanations goes back to that state (submitting them
            # again retries; a file already written has the same content, which the pipeline takes
            # once); a fresh upload is marked failed (upload it again)
            self.accounts.update_upload(
                upload_id,
                status=expected if expected == "needs_explanation" else "failed",
                receipt=record["receipt"],
                explanations=record["explanations"],
            )
            raise IntakeError(
                503,
                "暂时无法写入收件目录，数据未送达，请稍后重试。",
                "The inbox cannot be written just now; nothing was sent on. Try again later.",
            ) from None
        self.accounts.update_upload(upload_id, forwarded=written)
        self.accounts.audit(
            principal.actor,
            "forward",
            {"upload_id": upload_id, "files": [w["name"] for w in written], "explained": len(explanations)},
        )
        return self.get(principal.department_code, upload_id)

    def _write_inbox(self, department_code: str, name: str, data: bytes) -> Path:
        settings = self.config.settings
        target = settings.inbox / department_code / name
        target.parent.mkdir(parents=True, exist_ok=True)
        # the temporary file lives outside the inbox (a scan never sees half a file) on the same
        # file system, so the rename is atomic
        staging = settings.raw_dir / ".portal-staging"
        staging.mkdir(parents=True, exist_ok=True)
        tmp = staging / f"{secrets.token_hex(8)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            os.fchmod(fd, 0o640)  # whatever the process umask (planwh commands run with 077)
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return target


def _explanation_problems(missing: list[int], problems: list[dict]) -> tuple[str, str]:
    """What is wrong with the explanations given, issue by issue (numbers as on the receipt)."""
    zh, en = [], []
    if missing:
        zh.append("缺少说明：" + "、".join(f"#{i}" for i in missing))
        en.append("Missing: " + ", ".join(f"#{i}" for i in missing))
    for problem, text_zh, text_en in (
        (
            "too_short",
            f"说明太短（少于 {EXPLANATION_MIN_CHARS} 个字）",
            f"too short (under {EXPLANATION_MIN_CHARS} characters)",
        ),
        (
            "too_long",
            f"说明太长（超过 {EXPLANATION_MAX_CHARS} 个字）",
            f"too long (over {EXPLANATION_MAX_CHARS} characters)",
        ),
        (
            "not_a_warning_needing_explanation",
            "不是需要说明的警告",
            "not a warning that needs an explanation",
        ),
    ):
        found = [p["issue_index"] for p in problems if p["problem"] == problem]
        if found:
            zh.append(text_zh + "：" + "、".join(f"#{i}" for i in found))
            en.append(text_en.capitalize() + ": " + ", ".join(f"#{i}" for i in found))
    return "；".join(zh) + "。", "; ".join(en) + "."


def _overlay(published, forwarded: pd.DataFrame):
    """The published previous values and, after them, the forwarded rows the snapshot lacks."""
    if forwarded.empty:
        return published

    def previous(keys: pd.DataFrame) -> pd.DataFrame:
        wanted = forwarded.merge(keys[["plan_id", "indicator_code"]].drop_duplicates())
        known = published(keys) if published is not None else None
        if known is None or known.empty:
            return wanted
        return pd.concat([known, wanted], ignore_index=True)

    return previous


def written_at(item: dict) -> datetime:
    """When the portal wrote a forwarded file (recorded since 2026-12-02; before, the second in its name)."""
    if item.get("written_at"):
        return datetime.fromisoformat(item["written_at"])
    stamp = re.match(r"portal/(\d{8}-\d{6})_", item["name"])
    return datetime.strptime(stamp.group(1), "%Y%m%d-%H%M%S") + timedelta(microseconds=999_999)


def _initial_status(receipt: dict) -> str:
    if receipt["verdict"] == "rejected":
        return "rejected"
    if receipt["verdict"] == "needs_explanation":
        return "needs_explanation"
    return "forwarded"


# ---------------------------------------------------------------------- receipts and prepared rows


def build_receipt(checked: CheckedBatch, upload_id: str, departments: dict) -> dict:
    """The pipeline's receipt (pipelines/lib/submissions/receipts.py) of the checked upload, under the
    upload's id: the same receipt the pipeline writes for a file, before the file reaches the inbox."""
    outcome = next(iter(checked.outcomes.values()))
    receipt = core_receipt(outcome, now_local(), departments)
    receipt["submission_id"] = upload_id
    return receipt


def _safe_previous(read):
    """A snapshot from before the soft checks (no review_state) gives no previous values, not an error."""
    import duckdb

    def previous(keys: pd.DataFrame) -> pd.DataFrame:
        try:
            return read(keys)
        except duckdb.Error:
            return pd.DataFrame(columns=list(PREVIOUS_COLUMNS))

    return previous


def with_explanations(receipt: dict, explanations: dict[int, str]) -> dict:
    """The receipt once every soft-check warning is explained: those rows count as accepted."""
    issues = [dict(i) for i in receipt["issues"]]
    for index, text in explanations.items():
        issues[index]["explanation"] = text
    return {
        **receipt,
        "issues": issues,
        # the core's rule (check.verdict): the explained warnings stay on the receipt, so the verdict is
        # accepted_with_warnings, as the pipeline records the forwarded file and as an explanation given
        # from the home page (a file with the 说明 column) gets
        "verdict": verdict(False, 0, len(issues)),
        "rows_accepted": receipt["rows_accepted"] + receipt["rows_pending_explanation"],
        "rows_pending_explanation": 0,
    }


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp | datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        text = repr(value)  # shortest text that reads back as the same number
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def prepare_rows(checked: CheckedBatch, receipt_issues: list[dict]) -> dict[str, list[dict]]:
    """The rows the core accepted (not rejected, not skipped), in the contract's canonical form, each
    with the indexes of the receipt issues that concern it (so an explanation lands on its row)."""
    outcome = next(iter(checked.outcomes.values()))
    if outcome.status == "rejected":
        return {}
    issue_rows: dict[tuple, list[int]] = {}
    for index, issue in enumerate(receipt_issues):
        if issue["row"] is not None:
            issue_rows.setdefault((issue["sheet"] or "", issue["row"]), []).append(index)
    out: dict[str, list[dict]] = {}
    for kind, frame in checked.frames.items():
        if frame.empty:
            continue
        dropped = {row_id for (k, row_id) in outcome.rejected_rows | outcome.skipped_rows if k == kind}
        rows = []
        for rec in frame[~frame["row_id"].isin(dropped)].sort_values("source_row").to_dict("records"):
            sheet = rec.get("sheet_name") or ""
            if kind == INDICATOR:
                cells = {
                    "indicator_code": rec["indicator_code"],
                    "indicator_name": rec["indicator_name"],
                    "period": rec["period"],
                    "value_type": VALUE_TYPE_LABEL.get(rec["value_type"], rec["value_type"]),
                    "value": rec["value"],
                    "unit": rec["unit"] if isinstance(rec["unit"], str) else rec.get("value_unit"),
                    "note": rec["note"],
                    "explanation": rec.get("explanation"),
                }
            else:
                cells = {
                    "project_code": rec["project_code"],
                    "project_name": rec["project_name"],
                    "milestone": rec["milestone_code"],
                    "report_date": rec["report_date"],
                    "completed_on": rec["completed_on"],
                    "percent_complete": rec["percent_complete"],
                    "investment_to_date": rec["investment_to_date"],
                    "note": rec["note"],
                }
            rows.append(
                {
                    "sheet": sheet or None,
                    "source_row": int(rec["source_row"]),
                    "cells": {k: _cell(v) for k, v in cells.items()},
                    "issues": issue_rows.get((sheet, int(rec["source_row"])), []),
                }
            )
        out[kind] = rows
    return out


def render_csv(kind: str, rows: list[dict], explanations: dict[int, str]) -> str:
    """The contract's CSV (Chinese headings, as the template prints them) for prepared rows; the
    explanation column (说明) carries the file's own explanation and the clerk's new one."""
    headings = dict(zip(HEADINGS_EN[kind], HEADINGS_ZH[kind], strict=True))
    lines = []
    for row in rows:
        cells = dict(row["cells"])
        if kind == INDICATOR:
            texts = [cells.get("explanation") or ""] + [
                explanations[i] for i in row["issues"] if i in explanations
            ]
            cells["explanation"] = "；".join(dict.fromkeys(t for t in texts if t))
        lines.append(cells)
    columns = [c for c in headings if c in lines[0] and (c != "explanation" or any(x[c] for x in lines))]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([headings[c] for c in columns])
    for cells in lines:
        writer.writerow([cells[c] for c in columns])
    return buffer.getvalue()
