"""What a run does before it writes, so that an interrupted run never leaves a trap for the next one,
and what keeps the local state from growing without bound (docs/operations.md, "Retention").

- Temporary files of an interrupted step (`.<name>.tmp-<pid>`, `.<name>.incoming-<pid>`, DuckDB's
  spill folder) are removed when their writer is gone.
- Child processes (dbt) are registered with the pid and start time of the run that started them; a run
  that finds a child of a dead run still alive (it would hold the DuckDB file) ends it by that pid.
- Pre-rebuild copies and run logs are kept to a number; the notification log is rotated by size.
- Files with marts data are owner-only (0600 files, 0700 folders), also when an older version made them.

Plain Python (no Dagster): Dagster's own run history is pruned by pipelines/maintenance.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from ..files import atomic_write_text, pid_alive, process_start_ticks, temp_owner
from ..settings import Settings, now_local

NOTIFICATION_LOG_BYTES = 5 * 1024 * 1024  # notifications.jsonl is rotated past this size
NOTIFICATION_LOG_KEEP = 5


def _say(message: str) -> None:
    print(f"planwh: {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ interrupted writes


FOLDER_MEMORY = "housekeeping_folders.json"  # beside the working warehouse
_SLACK_NS = 2 * 10**9  # file system timestamps come from a coarse clock: a change just after a pass started


class FolderMemory:
    """What the last retention pass saw of the trees that grow with every submission (the receipts under
    output/, the archive): each folder's subfolders, and when that pass started.

    Creating, renaming or deleting an entry changes its folder's modification time: a folder modified
    (and, in case it was renamed into place from a backup with its old times, changed) before the last
    pass started, still the same folder (device and inode), holds the same entries as then, so a pass lists
    only the folders that changed (at a province ~3k receipt folders are stat-ed instead of ~62k receipts
    listed and stat-ed, 1.05 -> 0.07 s, on every run; the national tier has twenty times as many).
    A file whose mode alone was changed inside an unchanged folder is found by the day's first pass, which
    forgets the memory and walks everything; a folder where a live writer's temporary file was seen is
    listed again until that file is gone. Without a memory (`path=None`) every pass walks everything."""

    VERSION = 2  # folders: path -> [device, inode, [subfolder names]]

    def __init__(self, path: Path | None):
        self.path = path
        self.started_ns = time.time_ns()
        self.day = now_local().date().isoformat()
        self.since_ns: int | None = None  # None: a full pass
        self.known: dict[str, list] = {}
        self.seen: dict[str, list] = {}
        self.look_again: set[str] = set()
        if path is None:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == self.VERSION and data.get("day") == self.day:
                since, known = int(data["since_ns"]), data["folders"]
                if since <= self.started_ns and _well_formed(known):  # (a clock set back: walk everything)
                    self.since_ns, self.known = since, known
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # no memory (or an unreadable one): this pass walks everything

    def entries(self, folder: str, st: os.stat_result) -> list[os.DirEntry] | None:
        """The folder's entries, or None when it has not changed since the last pass; records its subfolders.
        Raises OSError when it cannot be listed (it is then not remembered: listed again next time)."""
        known = self.known.get(folder)
        if (
            self.since_ns is not None
            and known is not None
            and known[:2] == [st.st_dev, st.st_ino]
            and max(st.st_mtime_ns, st.st_ctime_ns) < self.since_ns - _SLACK_NS
        ):
            self.seen[folder] = known
            return None
        entries = list(os.scandir(folder))
        self.seen[folder] = [
            st.st_dev,
            st.st_ino,
            [e.name for e in entries if e.is_dir(follow_symlinks=False)],
        ]
        return entries

    def subfolders(self, folder: str) -> list[str]:
        return self.seen[folder][2]

    def save(self) -> None:
        if self.path is None:
            return
        folders = {k: v for k, v in self.seen.items() if k not in self.look_again}
        text = json.dumps(
            {"version": self.VERSION, "day": self.day, "since_ns": self.started_ns, "folders": folders}
        )
        with contextlib.suppress(OSError):
            atomic_write_text(self.path, text)


def _well_formed(folders) -> bool:
    return isinstance(folders, dict) and all(
        isinstance(k, str)
        and isinstance(v, list)
        and len(v) == 3
        and all(isinstance(n, int) for n in v[:2])
        and isinstance(v[2], list)
        and all(isinstance(n, str) for n in v[2])
        for k, v in folders.items()
    )


def folder_memory(settings: Settings) -> FolderMemory:
    return FolderMemory(settings.warehouse.parent / FOLDER_MEMORY)


def _walk_folders(
    root: str, memory: FolderMemory | None, skip: str | None = None
) -> Iterator[tuple[str, os.stat_result, list[os.DirEntry] | None]]:
    """(folder, its stat, its entries or None when the memory says it is unchanged) for `root` and every
    folder below it; symlinked folders below the root are not followed (a root that is a symlink is).
    Without a memory every folder is listed (a memory without a file behind it remembers nothing)."""
    memory = memory or FolderMemory(None)

    def status(folder: str) -> os.stat_result:
        return os.stat(folder) if folder == root else os.lstat(folder)

    stack = [root]
    while stack:
        folder = stack.pop()
        if folder == skip:
            continue
        try:
            st = status(folder)
        except OSError:
            continue  # gone since its parent was listed
        if not stat.S_ISDIR(st.st_mode):
            continue
        try:
            entries = memory.entries(folder, st)
        except OSError:
            # cannot be listed (its mode, e.g. 0o077): the caller sees the folder first (make_private fixes
            # its mode), then it is listed once more
            yield folder, st, None
            try:
                st = status(folder)
                entries = memory.entries(folder, st)
            except OSError:
                continue  # still unreadable: not remembered, so the next pass tries again
        yield folder, st, entries
        stack.extend(os.path.join(folder, name) for name in memory.subfolders(folder))


def _remove_dead_temps(folder: str, entries: list[os.DirEntry], memory: FolderMemory | None) -> list[Path]:
    removed: list[Path] = []
    for entry in entries:
        owner = temp_owner(entry.name)
        if owner is None:
            continue
        if pid_alive(owner):
            if memory is not None:  # its writer may die without the folder changing again
                memory.look_again.add(folder)
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def remove_interrupted_temp_files(settings: Settings, memory: FolderMemory | None = None) -> list[Path]:
    """Remove temporary files whose writing process is gone (their names carry its pid); return what was
    removed. Safe without the writer lock. With a `memory`, the receipts and the archive are looked at
    only where they changed since the last pass."""
    removed: list[Path] = []
    for folder in (settings.warehouse.parent, settings.publish_dir, settings.archive / "receipts"):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        removed += _remove_dead_temps(str(folder), entries, None)
    for tree in (settings.output_dir, settings.archive / "sha256"):
        for folder, _, entries in _walk_folders(os.path.abspath(tree), memory):
            if entries is not None:
                removed += _remove_dead_temps(folder, entries, memory)
    return removed


def remove_spill_files(settings: Settings) -> list[Path]:
    """Empty DuckDB's temp_directory of the working warehouse. Only under the writer lock: a running
    refresh's DuckDB is spilling there."""
    removed: list[Path] = []
    spill = settings.warehouse.with_name(settings.warehouse.name + ".tmp")
    if spill.is_dir():
        for path in spill.iterdir():
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


# -------------------------------------------------------------------------------- child processes


def _read_children(settings: Settings) -> list[dict]:
    try:
        return json.loads(settings.children_file.read_text() or "[]")
    except (OSError, ValueError):
        return []


def register_child(settings: Settings, pid: int, what: str, run_id: str | None = None) -> None:
    """Record a child process of this run (held under the writer lock, so one writer edits the file)."""
    children = [c for c in _read_children(settings) if c.get("pid") != pid]
    children.append(
        {
            "pid": pid,
            "start": process_start_ticks(pid),
            "parent_pid": os.getpid(),
            "parent_start": process_start_ticks(os.getpid()),
            "run_id": run_id,
            "what": what,
            "since": now_local().isoformat(),
        }
    )
    atomic_write_text(settings.children_file, json.dumps(children))


def unregister_child(settings: Settings, pid: int) -> None:
    children = [c for c in _read_children(settings) if c.get("pid") != pid]
    if children:
        atomic_write_text(settings.children_file, json.dumps(children))
    else:
        with contextlib.suppress(OSError):
            settings.children_file.unlink()


def _same_process(pid: int, start: int | None) -> bool:
    return pid_alive(pid) and (start is None or process_start_ticks(pid) == start)


def end_orphans(settings: Settings, grace: float = 10.0) -> list[str]:
    """End children of runs whose process died (they would keep the DuckDB file locked); return a line
    for each one ended. A child whose run is still alive is left alone."""
    ended, keep = [], []
    for child in _read_children(settings):
        pid, start = int(child.get("pid") or 0), child.get("start")
        if not _same_process(pid, start):
            continue  # gone already (or its pid now belongs to someone else)
        if _same_process(int(child.get("parent_pid") or 0), child.get("parent_start")):
            keep.append(child)
            continue
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while _same_process(pid, start) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _same_process(pid, start):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            while _same_process(pid, start) and time.monotonic() < deadline + 5:
                time.sleep(0.05)
        ended.append(
            f"ended {child.get('what', 'a child process')} (pid {pid}) left running by an abandoned run"
            f"{' ' + child['run_id'] if child.get('run_id') else ''}"
        )
    if keep:
        atomic_write_text(settings.children_file, json.dumps(keep))
    else:
        with contextlib.suppress(OSError):
            settings.children_file.unlink()
    return ended


def recover_before_writing(settings: Settings, temp_files: bool = True) -> list[str]:
    """Called when a process takes the writer lock: end orphans of dead runs and (`temp_files`, when the
    last holder did not release the lock cleanly) remove the temporary files dead writers left."""
    lines = end_orphans(settings)
    removed = remove_spill_files(settings)
    if temp_files:
        removed += remove_interrupted_temp_files(settings)
    if removed:
        size = sum(p.stat().st_size for p in removed if p.exists())  # usually 0: they are gone
        lines.append(
            f"removed {len(removed)} temporary file(s) left by an interrupted run"
            + (f" ({size} bytes)" if size else "")
        )
    for line in lines:
        _say(line)
    return lines


# -------------------------------------------------------------------------------------- retention


def prune_rebuild_copies(settings: Settings) -> list[Path]:
    """Keep the newest `retention.rebuild_copies` planwh.duckdb.before-rebuild-* copies (and their WAL)."""
    pattern = f"{settings.warehouse.name}.before-rebuild-*"
    copies = sorted(
        (p for p in settings.warehouse.parent.glob(pattern) if not p.name.endswith(".wal")),
        key=lambda p: p.name,
    )
    keep = settings.retention.rebuild_copies
    removed = []
    for old in copies[: max(0, len(copies) - keep)]:
        for path in (old, old.with_name(old.name + ".wal")):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def prune_logs(settings: Settings) -> list[Path]:
    """Keep the newest `retention.log_files` run logs; rotate the notification log past 5 MB."""
    removed = []
    logs = (
        sorted(settings.log_dir.glob("*.log"), key=lambda p: p.stat().st_mtime)
        if settings.log_dir.exists()
        else []
    )
    for old in logs[: max(0, len(logs) - settings.retention.log_files)]:
        with contextlib.suppress(OSError):
            old.unlink()
            removed.append(old)
    log = settings.output_dir / "alerts" / "notifications.jsonl"
    with contextlib.suppress(OSError):
        if log.stat().st_size > NOTIFICATION_LOG_BYTES:
            for n in range(NOTIFICATION_LOG_KEEP - 1, 0, -1):
                older = log.with_name(f"{log.name}.{n}")
                if older.exists():
                    older.replace(log.with_name(f"{log.name}.{n + 1}"))
            log.replace(log.with_name(f"{log.name}.1"))
            last = log.with_name(f"{log.name}.{NOTIFICATION_LOG_KEEP + 1}")
            if last.exists():
                last.unlink()
                removed.append(last)
    return removed


# ------------------------------------------------------------------------------------ permissions


def make_private(*roots: Path, keep: Path | None = None, memory: FolderMemory | None = None) -> int:
    """Owner-only permissions on everything under `roots` (files 0600 or 0400, folders 0700); returns how
    many modes changed. `keep` (the published snapshot's folder) keeps its group-read for analysts.

    Runs after every refresh over the receipts (up to two files per submission: 123k at a province), so it walks
    with os.scandir and plain strings, and skips `keep` whole instead of asking each path for its parents
    (pathlib's rglob and `parents` made it 3-6 s of every province refresh); with a `memory`, the files of
    folders unchanged since the last pass are not looked at again (each folder's own mode still is)."""
    skip = os.path.abspath(keep) if keep is not None else None
    changed = 0
    for root in roots:
        top = os.path.abspath(root)
        if skip is not None and (top == skip or top.startswith(skip + os.sep)):
            continue
        if not os.path.isdir(top):
            with contextlib.suppress(OSError):
                changed += _make_private_one(top, os.stat(top))
            continue
        # a root that is a symlink (a folder moved to a bigger disk) stands for what it points to
        for folder, st, entries in _walk_folders(top, memory, skip):
            with contextlib.suppress(OSError):
                changed += _make_private_one(folder, st)
            for entry in entries or ():
                if entry.path == skip:
                    continue
                with contextlib.suppress(OSError):
                    if not entry.is_dir(follow_symlinks=False):  # a folder: when it is walked
                        changed += _make_private_one(entry.path, entry.stat(follow_symlinks=False))
    return changed


def _make_private_one(path: str, st: os.stat_result) -> int:
    if stat.S_ISLNK(st.st_mode):
        return 0
    mode = stat.S_IMODE(st.st_mode)
    wanted = (0o700 if stat.S_ISDIR(st.st_mode) else mode & 0o700) if mode & 0o077 else mode
    if wanted == mode:
        return 0
    os.chmod(path, wanted)
    return 1
