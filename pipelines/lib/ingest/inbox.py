"""The inbox: receive and archive department submissions, and keep the receipts.

discover_and_archive(): every file under raw/inbox/<department_code>/ is hashed; new (department,
sha256) pairs are copied into the content-addressed archive (raw/archive/sha256/ab/<sha256>, read
only) and recorded in raw.receipts. Names are metadata, never paths. The archive keeps its own
receipts log (JSON lines), so the warehouse can be rebuilt from the archive alone.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from ..faults import crash_point
from ..files import atomic_write_text, fsync_dir, sync_filesystem, temp_path
from ..plans.catalog import Catalog
from ..settings import TZ, Settings, now_local
from ..submissions.reasons import Issue
from ..warehouse.connection import connect, fetch_dicts

# ------------------------------------------------------------------------------------- discovery

# Left behind by editors and transfers, never a submission: Office/WPS owner files (~$x.xlsx),
# LibreOffice locks (.~lock.x.xlsx#), partial downloads and copies, editor swap and backup files,
# and what file browsers scatter. Ignored with a note in the ledger, never read.
_LEFTOVER_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", ".swx", "~")
_LEFTOVER_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}


def is_leftover(base: str) -> bool:
    lowered = base.lower()
    return base.startswith((".", "~$")) or lowered.endswith(_LEFTOVER_SUFFIXES) or lowered in _LEFTOVER_NAMES


@dataclass
class InboxFile:
    department_code: str | None
    original_name: str
    location: str | Path  # where it is: kept as the scan found it (a Path per file, 61.6k at a province,
    # cost the scan more than its stat calls); `path` is the Path
    size: int
    sha256: str | None
    issue: Issue | None = None
    changed_at: datetime | None = None  # last change of content or metadata (mtime or ctime), local time
    arrived_at: datetime | None = None  # changed_at, but never later than the scan: when it reached the inbox
    waiting: bool = False  # changed less than the quiet period ago: maybe still being written
    inode: tuple[int, int] | None = None  # (device, inode): the same file under a new name or mode
    mtime_ns: int | None = None

    @property
    def path(self) -> Path:
        return Path(self.location)

    @property
    def submission_id(self) -> str:
        return make_submission_id(
            self.department_code, self.sha256 or hashlib.sha256(self.original_name.encode()).hexdigest()
        )


def make_submission_id(department_code: str | None, sha256: str) -> str:
    return f"{department_code or '_'}-{sha256[:16]}"


# a control character or a backslash anywhere, an absolute path, a drive letter, a "." or ".." part
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f\\]|^/|^[A-Za-z]:|(?:^|/)\.\.?(?:/|$)")


def unsafe_name(name: str) -> bool:
    """Names are never used as paths, but names that look like paths are refused outright. One regular
    expression: it is asked of every file in the inbox on every scan (61.6k at a province)."""
    return _UNSAFE_NAME.search(name) is not None


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


HASH_THREADS = 8  # files read at once once reading waits on the disk (keeps its queue busy)
HASH_PROBE_FILES = 256  # files hashed in this thread before deciding whether a pool of threads would help
DISK_BOUND_FILES_PER_S = 2_000  # below this rate the files come from the disk, not the page cache
RACY_SECONDS = 2.0  # coarser than any file system's timestamps (FAT: 2 s)


def _sha256_or_error(path: Path) -> str | OSError:
    try:
        return sha256_file(path)
    except OSError as exc:
        return exc


def hash_files(paths: list[Path]) -> list[str | OSError]:
    """The sha256 of each file (or the OSError reading it raised), in order. Files are hashed in this thread
    while they come from the page cache: small files hashed by a pool of threads took 4-6x as long there,
    the threads taking turns on the interpreter lock (59.6k province archive files: 0.6 s in one thread,
    2.7-3.7 s with 2-8; session 16). When the first files come slower than DISK_BOUND_FILES_PER_S, reading
    waits on the disk (a cold cache on a slow volume: ~700 files/s was seen on the national tier) and the
    rest are read by HASH_THREADS threads, which keep the disk's queue busy."""
    out: list[str | OSError] = []
    started = time.perf_counter()
    for path in paths[:HASH_PROBE_FILES]:
        out.append(_sha256_or_error(path))
    rest = paths[HASH_PROBE_FILES:]
    if not rest:
        return out
    rate = len(out) / max(time.perf_counter() - started, 1e-9)
    if rate >= DISK_BOUND_FILES_PER_S:
        out.extend(_sha256_or_error(path) for path in rest)
    else:
        with ThreadPoolExecutor(max_workers=HASH_THREADS) as pool:
            out.extend(pool.map(_sha256_or_error, rest))
    return out


def _signature(st: os.stat_result) -> list[int]:
    """What says a file is unchanged: size and mtime are not enough (`cp -p`, `rsync -t` and `touch -r`
    keep them across an edit), so the inode change time and the inode itself are part of it."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class HashCache:
    """relative path -> {signature, sha256, when first seen with that signature, when hashed}.

    Repeated scans do not re-read unchanged files; a file whose signature moved is hashed again, and
    every file is hashed again after `rehash_hours` (a file system that keeps ctime badly cannot hide an
    edit for longer than that)."""

    def __init__(self, path: Path | None, rehash_hours: float = 24.0, seed: Path | None = None):
        """`seed`: another cache of the same inbox to start from when this one has no file yet (the sensor's
        first evaluation starts from the runs' cache instead of hashing the whole inbox: 15 s at a province);
        its entries are trusted only for files whose signature is unchanged, as this cache's own are."""
        self.path = path
        self.rehash_seconds = rehash_hours * 3600
        self.data: dict[str, dict] = {}
        source = path if path and path.exists() else seed
        if source and source.exists():
            try:
                loaded = json.loads(source.read_text())
                self.data = {k: v for k, v in loaded.items() if isinstance(v, dict)}  # older formats: rebuilt
            except (OSError, ValueError):
                self.data = {}
        self.dirty = source is seed and bool(self.data)  # a seeded cache is saved as this one's own
        self.seen: set[str] = set()

    def entry(self, rel: str, st: os.stat_result) -> dict:
        """The cache entry for this file as it is now (a new one when its signature changed)."""
        self.seen.add(rel)
        sig = _signature(st)
        hit = self.data.get(rel)
        if hit and hit.get("sig") == sig:
            return hit
        hit = {"sig": sig, "sha": None, "seen": time.time(), "hashed": None}
        self.data[rel] = hit
        self.dirty = True
        return hit

    def known_sha(self, hit: dict, st: os.stat_result) -> str | None:
        """The cached hash if it can be trusted for the file as it is now, else None (hash it again)."""
        changed = max(st.st_mtime_ns, st.st_ctime_ns) / 1e9
        fresh = (
            hit["hashed"] is not None
            and time.time() - hit["hashed"] < self.rehash_seconds
            # "racy" entries: hashed within the file system's timestamp granularity of the last change, an
            # edit in the same tick would leave the signature unchanged, so such a hash is not trusted
            and hit["hashed"] - changed >= RACY_SECONDS
        )
        return hit["sha"] if hit["sha"] and fresh else None

    def hash_all(self, work: list[tuple[InboxFile, dict]]) -> set[int]:
        """Hash the files of `work` (item, cache entry) and record the hashes (hash_files: one thread, or
        a pool when reading waits on the disk).

        A file that cannot be read gets the issue `file_not_readable`; returns the id() of the items whose
        file has gone since it was listed (the caller leaves them out)."""
        paths = [item.path for item, _ in work]
        # a hash is dated from before its file was read: an edit in the same timestamp tick while it was
        # being read must leave the hash "racy" (not trusted), whatever the read took
        started = time.time()
        hashes = hash_files(paths)
        gone: set[int] = set()
        for (item, hit), sha in zip(work, hashes, strict=True):
            if isinstance(sha, FileNotFoundError):
                gone.add(id(item))  # deleted or renamed since the scan listed it: the next scan sees it
            elif isinstance(sha, OSError):
                # the pipeline's user cannot read it (permissions, an I/O error): refused with the reason,
                # instead of failing the discovery of every department's files
                item.issue = Issue("file_not_readable", value=sha.strerror or type(sha).__name__)
            else:
                hit["sha"], hit["hashed"] = sha, started
                item.sha256 = sha
        self.dirty = self.dirty or bool(work)
        return gone

    def save(self) -> None:
        gone = set(self.data) - self.seen
        if gone:  # files that left the inbox
            for rel in gone:
                del self.data[rel]
            self.dirty = True
        if self.path and self.dirty:
            atomic_write_text(self.path, json.dumps(self.data))


def _local(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, TZ).replace(tzinfo=None)


def scan_inbox(
    settings: Settings,
    departments: set[str],
    cache: HashCache | None = None,
    complete: set[tuple[str, str]] | None = None,
) -> list[InboxFile]:
    """Every file in the inbox with its department, hash and (if any) the reason it is refused unread.

    A file changed less than `settings.inbox_quiet_seconds` ago is marked `waiting` and not hashed: it may
    still be being written (a CSV cut mid-number is a different, wrong number). Content listed in
    `complete` (department, sha256) — the migrated history in raw/backfill — is known whole and never waits.
    """
    inbox = settings.inbox
    if not inbox.exists():
        return []
    cache = cache or HashCache(None, settings.inbox_rehash_hours)
    complete = complete or set()
    quiet_ns = int(settings.inbox_quiet_seconds * 1e9)
    now_ns = time.time_ns()
    found: list[InboxFile] = []
    to_hash: list[tuple[InboxFile, dict]] = []  # settled files whose cached hash cannot be trusted
    linked: dict[str, bool] = {}  # department folder -> is a symlink (asked once per folder, not per file)
    for rel, entry in _walk(inbox):
        parts = rel.split("/")
        department = parts[0] if len(parts) > 1 else None
        name = "/".join(parts[1:]) if department else rel
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # gone (renamed or deleted) since the folder was listed: the next scan sees what is there
        changed_ns = max(st.st_mtime_ns, st.st_ctime_ns)
        # when it reached the inbox: its last change, but a future mtime (a sender's fast clock, touch -d) is
        # not believed (the inode change time is this machine's), nor anything after this scan
        arrived_ns = min(changed_ns if st.st_mtime_ns <= now_ns else st.st_ctime_ns, now_ns)
        changed_at = _local(changed_ns)
        item = InboxFile(
            department,
            name,
            entry.path,
            st.st_size,
            None,
            changed_at=changed_at,
            arrived_at=changed_at if arrived_ns == changed_ns else _local(arrived_ns),
            inode=(st.st_dev, st.st_ino),
            mtime_ns=st.st_mtime_ns,
        )
        base = parts[-1]
        if department is not None and department not in linked:
            linked[department] = (inbox / department).is_symlink()
        if department is not None and linked[department]:
            item.issue = Issue("symlink_not_allowed", value=department)
        elif entry.is_symlink():
            item.issue = Issue("symlink_not_allowed", value=rel)
        elif unsafe_name(name) or (base != name and unsafe_name(base)):
            item.issue = Issue("unsafe_file_name", value=name)
        elif department is None:
            if base in ("README.md", ".gitkeep"):
                continue  # documentation of the inbox itself
            item.issue = Issue("not_in_department_folder", value=rel)
        elif is_leftover(base):
            if base == ".gitkeep":
                continue
            item.issue = Issue("hidden_or_temporary_file", value=name)  # ignored, never read: no hash
            found.append(item)
            continue
        elif not stat.S_ISREG(st.st_mode):
            # a named pipe, socket or device: opening it to hash it could wait forever (a FIFO with no
            # writer), holding the writer lock, so it is refused unread
            item.issue = Issue("not_a_regular_file", value=name)
        elif department not in departments:
            item.issue = Issue("unknown_department", value=department)
        elif st.st_size > settings.max_file_bytes:
            item.issue = Issue("file_too_large", value=st.st_size, expected=settings.max_file_bytes)
        hashable = item.issue is None or item.issue.code in ("unknown_department", "not_in_department_folder")
        if not hashable or not stat.S_ISREG(st.st_mode) or st.st_size > settings.max_file_bytes:
            found.append(item)
            continue
        cached = cache.entry(rel, st)
        settled = now_ns - changed_ns >= quiet_ns or (time.time() - cached["seen"]) * 1e9 >= quiet_ns
        if settled:
            item.sha256 = cache.known_sha(cached, st)
            if item.sha256 is None:
                to_hash.append((item, cached))
        elif complete:
            # not cached: the file may still change; gone or unreadable, it is judged once it has settled
            sha = _sha256_or_error(item.path)
            if isinstance(sha, str) and (department, sha) in complete:
                item.sha256 = sha
            else:
                item.waiting = True
        else:
            item.waiting = True
        found.append(item)
    gone = cache.hash_all(to_hash)
    cache.save()
    return [item for item in found if id(item) not in gone] if gone else found


def backfill_receipts(settings: Settings) -> dict[tuple[str, str], datetime]:
    """Receipt times of submissions received before the system existed (migrated history)."""
    path = settings.backfill_receipts
    if not path.exists():
        return {}
    out: dict[tuple[str, str], datetime] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.reader(fh)  # read on every scan (61.6k rows at a province): plain rows, not a dict each
        header = next(rows, None)
        if header is None:
            return out
        try:
            department, sha, received = (
                header.index(c) for c in ("department_code", "sha256", "received_at")
            )
        except ValueError:
            raise ValueError(
                f"{path}: the header must name department_code, sha256 and received_at"
            ) from None
        width = max(department, sha, received) + 1
        for row in rows:
            if not row:
                continue  # a blank line (csv.DictReader skipped them too)
            if len(row) < width:
                raise ValueError(f"{path}, line {rows.line_num}: fewer columns than the header names")
            key, when = (row[department], row[sha]), datetime.fromisoformat(row[received])
            if key not in out or when < out[key]:  # the first receipt of that content
                out[key] = when
    return out


def archive_file(settings: Settings, item: InboxFile) -> str:
    """Copy into the content-addressed archive (atomic, read-only); return the path relative to raw/.

    One pass: the copy is hashed as it is written, created read-only, then renamed into place. Not yet
    durable: the caller syncs the archive's file system once, before the receipts log names the copies."""
    rel = f"archive/sha256/{item.sha256[:2]}/{item.sha256}"
    target = settings.raw_dir / rel
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(target)
        digest = hashlib.sha256()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
        try:
            with item.path.open("rb") as src:
                for chunk in iter(lambda: src.read(1 << 20), b""):
                    digest.update(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        if digest.hexdigest() != item.sha256:  # the file changed while we copied it: the next scan takes it
            os.unlink(tmp)
            raise FileChangedError(item.original_name)
        os.replace(tmp, target)
    return rel


class FileChangedError(RuntimeError):
    pass


class ArchiveDamaged(RuntimeError):
    """The raw archive, the record that cannot be derived, is damaged: an archived copy missing or edited,
    or a receipts log that cannot be read. One line naming what and how to recover; a retry fails the same way."""


def receipt_log_rows(path: Path):
    """The receipts of one of the archive's logs (raw/archive/receipts/*.jsonl), with their line numbers:
    ArchiveDamaged (one line: the file, the line, what to do) for a line that is not a receipt."""
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    if not isinstance(row, dict) or not isinstance(row.get("submission_id"), str):
                        raise ValueError("not a receipt: no submission_id")
                except ValueError as exc:
                    raise ArchiveDamaged(damaged_log_message(path, number, exc)) from None
                yield number, row
    except UnicodeDecodeError as exc:
        raise ArchiveDamaged(damaged_log_message(path, None, exc)) from None


def damaged_log_message(path: Path, line: int | None, error: Exception) -> str:
    if isinstance(error, KeyError):
        reason = f"no {error.args[0]}"
    else:
        reason = str(error).splitlines()[0][:120] if str(error) else type(error).__name__
    where = f"line {line}" if line else "its bytes (not UTF-8)"
    return (
        f"收件日志损坏，请从备份恢复该文件 — The raw archive's receipts log {path} is damaged at {where} "
        f"({reason}). Restore that file from the "
        "backup of raw/archive/ and run again: the archive is the record of every receipt, so the file is "
        "neither skipped nor repaired here; nothing was loaded"
    )


# --------------------------------------------------------------------------------- what is new


@dataclass
class Pending:
    item: InboxFile
    submission_id: str
    resubmission_of: str | None = None
    received_at: datetime | None = None  # when it reached the inbox (migrated history: as recorded then)
    backfilled: bool = False


def word_order(receipt: dict) -> tuple:
    """The order of a department's words: receipt time (to the microsecond: the moment the file reached
    the inbox), then submission id, as int_indicator_values_versioned and int_indicator_values_as_of
    supersede values (project reports go by report date first, then receipt time)."""
    return (receipt["received_at"], receipt["submission_id"])


# what KnownReceipts reads of a recorded receipt (not the whole row: at scale every receipt is read each run)
KNOWN_RECEIPT_COLUMNS = (
    "submission_id",
    "department_code",
    "original_name",
    "file_sha256",
    "received_at",
    "discovery_issue",
)


class KnownReceipts:
    """What has been received, to decide what an inbox file is: new content, content already received
    (nothing to do), or earlier content sent again after newer content (a re-submission, A -> B -> A).

    A department's word order is the order its files reached the inbox (their receipt times), not the
    order discoveries recorded them: A, B and A again written within one quiet period are recorded by
    one discovery (or B and the first A by one, the second A by the next) and still read A, B, A."""

    def __init__(self, receipts: list[dict], judged: dict[tuple[int, int], tuple] | None = None):
        """`judged`: (device, inode) -> (department, name, sha256, size, mtime_ns) of each inbox file as the
        last discovery judged it (ops.inbox_files)."""
        self.judged = judged or {}
        self.ids = {r["submission_id"] for r in receipts}
        self.by_content: dict[tuple, list[dict]] = {}
        self.by_path: dict[tuple, dict] = {}
        self.latest: dict[str, dict] = {}
        for r in sorted(receipts, key=word_order):
            if not r.get("file_sha256") or r.get("discovery_issue"):
                continue  # refused unread, or a leftover: not a department's word
            self._add(r)

    def _add(self, r: dict) -> None:
        dept = r["department_code"]
        self.by_content.setdefault((dept, r["file_sha256"]), []).append(r)
        self.by_path[(dept, r["original_name"])] = r
        if dept not in self.latest or word_order(r) >= word_order(self.latest[dept]):
            self.latest[dept] = r

    def arrival(self, item: InboxFile, backfill: dict) -> tuple[datetime, bool]:
        """(receipt time, from the migrated history?) of an inbox file, as it would be recorded."""
        dept = item.department_code
        if item.sha256 and (dept, item.sha256) in backfill and (dept, item.sha256) not in self.by_content:
            return backfill[(dept, item.sha256)], True  # the first receipt of migrated content
        return item.arrived_at or datetime.min, False

    def classify(
        self, items: list[InboxFile], backfill: dict[tuple[str, str], datetime] | None = None
    ) -> list[Pending]:
        """The inbox files to record, in the order they arrived. Each accepted file counts at once as
        received, so a later file of the same discovery is read against it (A, B, A in one batch: the
        second A is a re-submission). `backfill`: receipt times of the migrated history, by (department,
        sha256), which stand for the first receipt of that content.

        A file that cannot be recorded after all (gone or changed before its archive copy) holds back the
        later files of its department (`held_back`): they were judged against it."""
        backfill = backfill or {}
        out: list[Pending] = []
        noted: set[str] = set()
        settled = sorted(
            ((self.arrival(item, backfill), item) for item in items if not item.waiting),
            # ties (one clock tick) as the models break them: by submission id
            key=lambda p: (p[0][0], p[1].department_code or "", p[1].submission_id, p[1].original_name),
        )
        for (when, backfilled), item in settled:
            if (
                item.sha256 is None or item.issue is not None
            ):  # refused or ignored: noted once per name/content
                sid = item.submission_id
                if sid not in self.ids and sid not in noted:
                    noted.add(sid)
                    out.append(Pending(item, sid, received_at=when))
                continue
            dept = item.department_code
            earlier = self.by_content.get((dept, item.sha256))
            if not earlier:
                entry = Pending(item, item.submission_id, received_at=when, backfilled=backfilled)
                out.append(entry)
                self._add(self._as_receipt(entry))
                continue
            last = earlier[-1]
            kind = Path(item.original_name).suffix.lower()
            if all(Path(r["original_name"]).suffix.lower() != kind for r in earlier):
                # the same bytes as another kind of file are read differently: rename_me.txt refused for its
                # type, then renamed .csv as its receipt says, must be read now (a rename otherwise changes
                # nothing); once received as this kind, the rules below apply
                sent_again = True
            elif last is self.latest[dept]:
                continue  # still the department's latest word: an identical re-upload changes nothing
            elif self.unchanged_since_judged(item):
                continue  # this very file, renamed or chmod-ed since it was judged: nothing new
            elif (at_path := self.by_path.get((dept, item.original_name))) is not None:
                sent_again = at_path["file_sha256"] != item.sha256  # this file changed back since
            else:
                sent_again = (when, item.submission_id) > word_order(self.latest[dept])  # ties: as the models
            if sent_again:
                sid = f"{make_submission_id(dept, item.sha256)}-r{len(earlier) + 1}"
                entry = Pending(item, sid, last["submission_id"], received_at=when)
                out.append(entry)
                self._add(self._as_receipt(entry))
        return out

    def unchanged_since_judged(self, item: InboxFile) -> bool:
        """The file (same device and inode, same department) with the content, size and modification time
        it had when a discovery judged it. The modification time tells it from a new file given a deleted
        one's inode number (ext4 reuses them at once); a rename or chmod keeps it. A touch moves it: a
        touched file is then read like one seen anew (by its receipt at its name, else by its arrival)."""
        before = self.judged.get(item.inode) if item.inode else None
        return before is not None and (before[0], before[2], before[3], before[4]) == (
            item.department_code,
            item.sha256,
            item.size,
            item.mtime_ns,
        )

    @staticmethod
    def _as_receipt(entry: Pending) -> dict:
        return {
            "submission_id": entry.submission_id,
            "department_code": entry.item.department_code,
            "original_name": entry.item.original_name,
            "file_sha256": entry.item.sha256,
            "received_at": entry.received_at,
        }


def discover_and_archive(settings: Settings, catalog: Catalog) -> dict:
    """Register new inbox files.

    Receipts written to the archive's log but not to the warehouse (a run died in between) are recorded
    first, with their original receipt times."""
    departments = set(catalog.departments["department_code"])
    backfill = backfill_receipts(settings)
    cache = HashCache(settings.inbox_index, settings.inbox_rehash_hours)
    scanned_at, started = now_local(precise=True), time.perf_counter()
    files = scan_inbox(settings, departments, cache, complete=set(backfill))
    now = now_local()
    with connect(settings) as con:
        # receipts the archive's log has and the warehouse lacks: only logs not known to be recorded are read
        recorded_logs = {row[0] for row in con.execute("select log_name from ops.receipt_logs").fetchall()}
        archived, logs_read = read_receipt_logs(settings, skip=recorded_logs)
        recorded = fetch_dicts(con, f"select {', '.join(KNOWN_RECEIPT_COLUMNS)} from raw.receipts")
        recorded_ids = {r["submission_id"] for r in recorded}
        missing = [r for sid, r in archived.items() if sid not in recorded_ids]
        # a receipt restored from the archive's log is newer than what was remembered of its file
        restored = {(r["department_code"], r["original_name"]) for r in missing}
        previous = load_judged(con)
        judged = {key: value for key, value in previous.items() if (value[0], value[1]) not in restored}
        known = KnownReceipts(recorded + missing, judged)
        new_rows, to_log = list(missing), []
        pending = known.classify(files, backfill)
        resubmissions = 0
        held_back: set[str] = set()  # departments whose later files were judged against one not recorded
        recorded_files: set[tuple[int, int]] = set()
        for entry in pending:
            item, sid = entry.item, entry.submission_id
            archive = None
            if item.sha256 and item.issue is None:
                if item.department_code in held_back:
                    continue
                try:
                    archive = archive_file(settings, item)
                except (FileChangedError, FileNotFoundError):
                    # changed or gone since it was hashed: the next scan decides again, for it and for the
                    # department's later files (each was read as coming after it)
                    held_back.add(item.department_code)
                    continue
            first = entry.resubmission_of is None
            row = {
                "submission_id": sid,
                "department_code": item.department_code,
                "original_name": item.original_name,
                "file_sha256": item.sha256 or "",
                "size_bytes": item.size,
                "received_at": entry.received_at or now,
                "received_at_source": "backfill" if entry.backfilled else "observed",
                "archive_path": archive,
                "discovery_issue": json.dumps(_issue_json(item.issue), ensure_ascii=False)
                if item.issue
                else None,
                "discovered_at": now,
                "resubmission_of": entry.resubmission_of,
            }
            resubmissions += 0 if first else 1
            if archive and item.inode:
                recorded_files.add(item.inode)
            new_rows.append(row)
            to_log.append(row)
        if any(row["archive_path"] for row in to_log):
            sync_filesystem(settings.archive)  # the copies (contents and renames) before the log naming them
        log = write_receipts_log(settings, to_log)  # durable before the warehouse knows about them
        crash_point("discover.before_commit")
        con.begin()  # the receipts, the logs they complete and what was judged of each file: all or nothing
        if new_rows:
            frame = pd.DataFrame(new_rows)
            con.register("new_receipts", frame)
            con.execute("insert or ignore into raw.receipts by name select * from new_receipts")
            con.unregister("new_receipts")
        # every receipt of the logs read (the missing ones just inserted) and of this run's log is recorded now
        complete_logs = logs_read + ([log.name] if log else [])
        if complete_logs:
            con.executemany(
                "insert or ignore into ops.receipt_logs values (?, ?)",
                [[name, now] for name in complete_logs],
            )
        remember_judged(con, previous, files, held_back, recorded_files, restored, now)
        waiting = [f for f in files if f.waiting]
        # when the inbox was last judged: every file settled by then has its receipt, or had nothing new
        # (the portal tells "same content as the latest word" from "not read yet" by it)
        con.execute(
            "insert into ops.refresh_runs values (null, 'inbox_scan', ?, ?, ?)",
            [
                scanned_at,
                round(time.perf_counter() - started, 3),
                json.dumps({"files": len(files), "new_receipts": len(new_rows), "waiting": len(waiting)}),
            ],
        )
        con.commit()
    return {
        "files_in_inbox": len(files),
        "new_receipts": len(new_rows),
        "resubmissions": resubmissions,
        "restored_from_archive_log": len(missing),
        "waiting": len(waiting),
        "waiting_files": [f"{f.department_code}/{f.original_name}" for f in waiting[:20]],
        "ignored": sum(
            1 for p in pending if p.item.issue is not None and p.item.issue.code == "hidden_or_temporary_file"
        ),
    }


JUDGED_COLUMNS = [
    "device",
    "inode",
    "department_code",
    "original_name",
    "file_sha256",
    "size_bytes",
    "mtime_ns",
]


def load_judged(con) -> dict[tuple[int, int], tuple]:
    """ops.inbox_files as (device, inode) -> (department, name, sha256, size, mtime_ns)."""
    rows = con.execute(f"select {', '.join(JUDGED_COLUMNS)} from ops.inbox_files").fetchall()
    return {(row[0], row[1]): row[2:] for row in rows}


def remember_judged(
    con,
    previous: dict[tuple[int, int], tuple],
    files: list[InboxFile],
    held_back: set[str | None],
    recorded_files: set[tuple[int, int]],
    restored: set[tuple],
    now: datetime,
) -> None:
    """Keep ops.inbox_files as this discovery judged the inbox: each settled file's (device, inode),
    department, name, content, size and modification time. Forgotten: a file that left the inbox, and the
    file of a receipt restored from the archive's log (remembered before that receipt). In a department
    held back only the files recorded count as judged; what was remembered of its others stays."""
    now_judged = {
        item.inode: (item.department_code, item.original_name, item.sha256, item.size, item.mtime_ns)
        for item in files
        if item.inode
        and not item.waiting
        and item.sha256
        and item.issue is None
        and (item.department_code not in held_back or item.inode in recorded_files)
    }
    present = {item.inode for item in files if item.inode}
    stale = {key for key, value in previous.items() if (value[0], value[1]) in restored}
    changed = {key: value for key, value in now_judged.items() if previous.get(key) != value or key in stale}
    drop = [key for key in previous if key not in present or key in changed or key in stale]
    if drop:
        con.register("forgotten", pd.DataFrame(drop, columns=["device", "inode"], dtype="uint64"))
        con.execute(
            """delete from ops.inbox_files f using forgotten g
               where f.device = g.device and f.inode = g.inode"""
        )
        con.unregister("forgotten")
    if changed:
        rows = pd.DataFrame([(*key, *value) for key, value in changed.items()], columns=JUDGED_COLUMNS)
        rows = rows.astype(
            {"device": "uint64", "inode": "uint64", "size_bytes": "int64", "mtime_ns": "int64"}
        )
        rows["judged_at"] = now
        con.register("judged_now", rows)
        con.execute("insert into ops.inbox_files by name select * from judged_now")
        con.unregister("judged_now")


def write_receipts_log(settings: Settings, rows: list[dict]) -> Path | None:
    """The archive keeps its own record of every receipt (one JSON-lines file per discovery), so the
    warehouse can be rebuilt from the archive alone. Returns the log written (None: no rows)."""
    if not rows:
        return None
    folder = settings.archive / "receipts"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{now_local().strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**9}.jsonl"
    text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
    atomic_write_text(folder / name, text, mode=0o400)
    fsync_dir(folder)
    return folder / name


def load_receipts(settings: Settings) -> dict[str, dict]:
    """Every receipt recorded in the archive, by submission id (the first record of an id wins)."""
    return read_receipt_logs(settings)[0]


def read_receipt_logs(settings: Settings, skip: set[str] = frozenset()) -> tuple[dict[str, dict], list[str]]:
    """The receipts of the archive's logs except those named in `skip`, by submission id (the first record of
    an id wins), and the names of the logs read."""
    out: dict[str, dict] = {}
    read: list[str] = []
    for path in sorted((settings.archive / "receipts").glob("*.jsonl")):
        if path.name in skip:
            continue
        read.append(path.name)
        for number, row in receipt_log_rows(path):
            if row["submission_id"] in out:
                continue
            try:
                for key in ("received_at", "discovered_at"):
                    row[key] = datetime.fromisoformat(row[key])
            except (KeyError, TypeError, ValueError) as exc:
                raise ArchiveDamaged(damaged_log_message(path, number, exc)) from None
            out[row["submission_id"]] = row
    return out, read


def _issue_json(issue: Issue) -> dict:
    return {
        "code": issue.code,
        "value": None if issue.value is None else str(issue.value),
        "expected": None if issue.expected is None else str(issue.expected),
    }
