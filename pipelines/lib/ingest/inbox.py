"""The inbox: receive and archive department submissions, and keep the receipts.

discover_and_archive(): every file under raw/inbox/<department_code>/ is hashed; new (department,
sha256) pairs are copied into the content-addressed archive (raw/archive/sha256/ab/<sha256>, read
only) and recorded in raw.receipts. Names are metadata, never paths. The archive keeps its own
receipts log (JSON lines), so the warehouse can be rebuilt from the archive alone.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..plans.catalog import Catalog
from ..settings import Settings, now_local
from ..submissions.reasons import Issue
from ..warehouse.connection import connect

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# ------------------------------------------------------------------------------------- discovery


@dataclass
class InboxFile:
    department_code: str | None
    original_name: str
    path: Path
    size: int
    sha256: str | None
    issue: Issue | None = None

    @property
    def submission_id(self) -> str:
        return make_submission_id(
            self.department_code, self.sha256 or hashlib.sha256(self.original_name.encode()).hexdigest()
        )


def make_submission_id(department_code: str | None, sha256: str) -> str:
    return f"{department_code or '_'}-{sha256[:16]}"


def unsafe_name(name: str) -> bool:
    """Names are never used as paths, but names that look like paths are refused outright."""
    if _CONTROL.search(name) or "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return True
    return any(part in ("..", ".") for part in re.split(r"[/\\]", name))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _walk(root: Path):
    """Yield (path relative to root, DirEntry) without following symlinks."""
    stack = [(root, "")]
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                stack.append((Path(entry.path), rel + "/"))
            else:
                yield rel, entry


class HashCache:
    """(relative path, size, mtime_ns) -> sha256, so repeated scans do not re-read unchanged files."""

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict[str, list] = {}
        if path and path.exists():
            try:
                self.data = json.loads(path.read_text())
            except (OSError, ValueError):
                self.data = {}
        self.dirty = False

    def sha(self, rel: str, entry: os.DirEntry) -> str:
        st = entry.stat(follow_symlinks=False)
        hit = self.data.get(rel)
        if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns:
            return hit[2]
        sha = sha256_file(Path(entry.path))
        self.data[rel] = [st.st_size, st.st_mtime_ns, sha]
        self.dirty = True
        return sha

    def save(self) -> None:
        if self.path and self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data))
            os.replace(tmp, self.path)


def scan_inbox(settings: Settings, departments: set[str], cache: HashCache | None = None) -> list[InboxFile]:
    """Every file in the inbox with its department, hash and (if any) the reason it is refused unread."""
    inbox = settings.inbox
    if not inbox.exists():
        return []
    cache = cache or HashCache(None)
    found: list[InboxFile] = []
    for rel, entry in _walk(inbox):
        parts = rel.split("/")
        department = parts[0] if len(parts) > 1 else None
        name = "/".join(parts[1:]) if department else rel
        path = Path(entry.path)
        st = entry.stat(follow_symlinks=False)
        item = InboxFile(department, name, path, st.st_size, None)
        base = parts[-1]
        if department is not None and (inbox / department).is_symlink():
            item.issue = Issue("symlink_not_allowed", value=department)
        elif entry.is_symlink():
            item.issue = Issue("symlink_not_allowed", value=rel)
        elif unsafe_name(base) or unsafe_name(name):
            item.issue = Issue("unsafe_file_name", value=name)
        elif department is None:
            if base in ("README.md", ".gitkeep"):
                continue  # documentation of the inbox itself
            item.issue = Issue("not_in_department_folder", value=rel)
        elif base.startswith((".", "~$")):
            if base == ".gitkeep":
                continue
            item.issue = Issue("hidden_or_temporary_file", value=name)
        elif department not in departments:
            item.issue = Issue("unknown_department", value=department)
        elif st.st_size > settings.max_file_bytes:
            item.issue = Issue("file_too_large", value=st.st_size, expected=settings.max_file_bytes)
        hashable = item.issue is None or item.issue.code in (
            "unknown_department",
            "not_in_department_folder",
            "hidden_or_temporary_file",
        )
        if hashable and not entry.is_symlink() and st.st_size <= settings.max_file_bytes:
            item.sha256 = cache.sha(rel, entry)
        found.append(item)
    cache.save()
    return found


def _backfill_receipts(settings: Settings) -> dict[tuple[str, str], datetime]:
    """Receipt times of submissions received before the system existed (migrated history)."""
    path = settings.backfill_receipts
    if not path.exists():
        return {}
    out = {}
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            out[(row["department_code"], row["sha256"])] = datetime.fromisoformat(row["received_at"])
    return out


def archive_file(settings: Settings, item: InboxFile) -> str:
    """Copy into the content-addressed archive (atomic, read-only); return the path relative to raw/.

    One pass: the copy is hashed as it is written, created read-only, then renamed into place."""
    rel = f"archive/sha256/{item.sha256[:2]}/{item.sha256}"
    target = settings.raw_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".incoming-{os.getpid()}-{item.sha256[:12]}")
        digest = hashlib.sha256()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o440)
        try:
            with item.path.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    os.write(fd, chunk)
        finally:
            os.close(fd)
        if digest.hexdigest() != item.sha256:  # the file changed while we copied it: the next scan takes it
            os.unlink(tmp)
            raise FileChangedError(item.original_name)
        os.replace(tmp, target)
    return rel


class FileChangedError(RuntimeError):
    pass


def discover_and_archive(settings: Settings, catalog: Catalog, only: set[str] | None = None) -> dict:
    """Register new inbox files. `only`: submission ids to take (a sensor run); None: everything."""
    departments = set(catalog.departments["department_code"])
    cache = HashCache(settings.inbox_index)
    files = scan_inbox(settings, departments, cache)
    backfill = _backfill_receipts(settings)
    now = now_local()
    archived = load_receipts(settings)
    with connect(settings) as con:
        known = {r[0] for r in con.execute("select submission_id from raw.receipts").fetchall()}
        new_rows, to_log = [], []
        seen = set()
        for item in files:
            sid = item.submission_id
            if sid in known or sid in seen or (only is not None and sid not in only):
                continue
            seen.add(sid)
            if sid in archived:  # archived by a run that died before recording it: keep its receipt time
                new_rows.append(archived[sid])
                continue
            archive = None
            if item.sha256 and item.issue is None:
                try:
                    archive = archive_file(settings, item)
                except FileChangedError:
                    continue
            received = backfill.get((item.department_code, item.sha256)) if item.sha256 else None
            row = {
                "submission_id": sid,
                "department_code": item.department_code,
                "original_name": item.original_name,
                "file_sha256": item.sha256 or "",
                "size_bytes": item.size,
                "received_at": received or now,
                "received_at_source": "backfill" if received else "observed",
                "archive_path": archive,
                "discovery_issue": json.dumps(_issue_json(item.issue), ensure_ascii=False)
                if item.issue
                else None,
                "discovered_at": now,
            }
            new_rows.append(row)
            to_log.append(row)
        write_receipts_log(settings, to_log)  # durable before the warehouse knows about them
        if new_rows:
            frame = pd.DataFrame(new_rows)
            con.register("new_receipts", frame)
            con.execute("insert into raw.receipts by name select * from new_receipts")
            con.unregister("new_receipts")
    return {"files_in_inbox": len(files), "new_receipts": len(new_rows)}


def write_receipts_log(settings: Settings, rows: list[dict]) -> None:
    """The archive keeps its own record of every receipt (one JSON-lines file per discovery), so the
    warehouse can be rebuilt from the archive alone."""
    if not rows:
        return
    folder = settings.archive / "receipts"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{now_local().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**9}.jsonl"
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o440)
    try:
        os.write(fd, "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, folder / name)


def load_receipts(settings: Settings) -> dict[str, dict]:
    """Every receipt recorded in the archive, by submission id (the first record of an id wins)."""
    out: dict[str, dict] = {}
    for path in sorted((settings.archive / "receipts").glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                row = json.loads(line)
                if row["submission_id"] in out:
                    continue
                for key in ("received_at", "discovered_at"):
                    row[key] = datetime.fromisoformat(row[key])
                out[row["submission_id"]] = row
    return out


def _issue_json(issue: Issue) -> dict:
    return {
        "code": issue.code,
        "value": None if issue.value is None else str(issue.value),
        "expected": None if issue.expected is None else str(issue.expected),
    }
