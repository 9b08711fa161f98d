"""`planwh-dbt`: runs the venv's dbt so that it dies with the run that started it, started warm when it can.

Dagster starts dbt as a child process. If the refresh process is killed alone (OOM killer, `kill -9`
of its pid), an orphaned dbt would keep the DuckDB file locked and the next refresh would report a
stranger holding it. This wrapper asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG,
inherited across exec) and then becomes dbt (exec: same pid, same arguments, same exit code). Where
that is not available it simply runs dbt; the next refresh then ends the orphan by its recorded pid
(pipelines/lib/warehouse/housekeeping.py).

A warm start (`start_warm` / `serve`): dbt's own imports cost ~1.4 s of every dbt run, paid while the
refresh waits. A refresh that will build the models starts, at its first step, a process that imports dbt
meanwhile (on the other core, while the files are read and validated) and then waits on a Unix socket
(`PLANWH_DBT_WARM`, in a folder only this user can enter). When Dagster starts `planwh-dbt build …`, the
wrapper hands that process its arguments, working folder, environment and its own stdin/stdout/stderr
(SCM_RIGHTS), so dbt writes its log lines straight into Dagster's pipe, as an exec'd dbt would. The wrapper
stays dbt's face to Dagster: it forwards SIGTERM/SIGINT/SIGHUP, exits with dbt's exit status (or dies of the
signal that ended it), and only after the warm process has exited, so the DuckDB file is closed by then.
The warm process serves one invocation, dies with the run that started it (PR_SET_PDEATHSIG), kills itself
when the wrapper goes away mid-build, and ends unused after an idle limit. Any failure to hand over (no
socket, already used, import error) falls back to exec'ing dbt: a warm start can only save time.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import io
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
WARM_ENV = "PLANWH_DBT_WARM"  # the warm process's socket, set only around the dbt build's start
SOCKET_NAME = "dbt.sock"
FOLDER_PREFIX = "planwh-dbt-"  # + the pid of the refresh that started it
IDLE_SECONDS = 1800.0  # a warm process nobody used (the run failed before dbt, or built nothing) ends
_HEADER = struct.Struct("!I")
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def die_with_parent(expected_parent: int | None) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if expected_parent and os.getppid() != expected_parent:  # the parent died before prctl took effect
        os._exit(137)


def real_dbt() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def main() -> None:
    parent = os.environ.get("PLANWH_PARENT_PID", "")
    die_with_parent(int(parent) if parent.isdigit() else None)
    args = sys.argv[1:]
    warm = os.environ.pop(WARM_ENV, "")  # dbt itself need not see it
    if warm and args and "--version" not in args:
        status = _hand_over(Path(warm), args)
        if status is not None:
            _exit_like(status)
    dbt = real_dbt()
    os.execv(dbt, [dbt, *args])


# ---- the wrapper's side ----------------------------------------------------------------------------


def _hand_over(path: Path, args: list[str]) -> int | None:
    """dbt's exit status (negative: the signal that ended it) from the warm process, or None when it could
    not take the invocation (the caller execs dbt instead)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
        request = json.dumps({"argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
        socket.send_fds(conn, [_HEADER.pack(len(request))], [0, 1, 2])
        conn.sendall(request)
        # no time limit from here: once this process's streams are in the warm process's hands it either
        # runs dbt with them or has ended (an import failed): only then may this process run dbt itself
        reply = _lines(conn)
        first = next(reply, "")
    except OSError:
        conn.close()
        return None
    if not first.startswith("pid "):  # it ended before taking the invocation
        conn.close()
        return None
    # from here dbt runs in the warm process: this process only relays signals and waits
    pid = int(first.split()[1])
    received: list[int] = []

    def relay(signum, _frame):
        received.append(signum)
        with contextlib.suppress(OSError):
            os.kill(pid, signum)

    for signum in _FORWARDED:
        signal.signal(signum, relay)
    conn.settimeout(None)
    status = None
    with contextlib.suppress(OSError):
        for line in reply:  # "exit N", then end of stream once the warm process has exited
            if line.startswith("exit "):
                status = int(line.split()[1])
    conn.close()
    if status is None:  # it died without saying how: of the signal relayed, else as a killed dbt would
        status = -(received[-1] if received else signal.SIGKILL)
    return status


def _lines(conn: socket.socket):
    buffer = b""
    while True:
        chunk = conn.recv(4096)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()


def _exit_like(status: int) -> None:
    sys.stdout.flush()
    if status < 0:  # ended by a signal: end by it too, so Dagster sees what it would of dbt itself
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        status = 128 - status
    os._exit(status)


# ---- the run's side --------------------------------------------------------------------------------


class WarmDbt:
    """A warm dbt process started by this run (one invocation)."""

    def __init__(self, folder: Path, process: subprocess.Popen):
        self.folder = folder
        self.process = process

    @property
    def socket(self) -> Path:
        return self.folder / SOCKET_NAME

    def close(self) -> None:
        """Ends it if nobody used it (a used one exits by itself) and removes its folder."""
        if self.process.poll() is None and self.socket.exists():
            self.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def _sweep_dead() -> None:
    """The folders of refreshes that died (kill -9: nothing of theirs could clean up) go."""
    for folder in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*-*"):
        pid = folder.name[len(FOLDER_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def start_warm(
    project_dir: Path | None = None, state: Path | None = None, env: dict[str, str] | None = None
) -> WarmDbt | None:
    """Starts a process that imports dbt, rehearses on `project_dir` (its partial-parse `state` file, when
    given; `env`: what the build's environment will add, the evaluation dates, so that the rehearsal reuses
    that state as the build will) and waits for one invocation. None where that cannot be done."""
    if not hasattr(socket, "send_fds") or not hasattr(socket, "AF_UNIX"):
        return None
    _sweep_dead()
    # 0700: only this user can reach the socket; named by this process, which the warm one dies with
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    command = [sys.executable, "-P", "-m", "pipelines.dbt_child", "--serve", str(folder / SOCKET_NAME)]
    command += [str(os.getpid()), str(project_dir or ""), str(state or "")]
    try:
        # -P: the working folder is not put on the import path (a folder there named like a module)
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            env={**os.environ, **(env or {})},
        )
    except OSError:
        shutil.rmtree(folder, ignore_errors=True)
        return None
    return WarmDbt(folder, process)


_WARM: list[tuple[str | None, WarmDbt]] = []  # (the run it is for, None: the next; the process): at most one


def _keep(owner: str | None, warm: WarmDbt | None) -> None:
    while _WARM:  # an earlier run's that was not used (it failed before its build)
        _WARM.pop()[1].close()
    if warm is not None:
        _WARM.append((owner, warm))


CPU_BUSY_PERCENT = 10.0  # /proc/pressure/cpu "some avg10" above this: no core to spare for a warm start


def spare_core() -> tuple[bool, str]:
    """Whether a warm start can run on a core nothing else wants, and why. It saves time only there: on a
    machine whose cores are all busy (a test suite in two workers, another job) it is CPU taken from the
    work, and the rehearsal's and an unused warm process's CPU are pure cost. PLANWH_DBT_WARM_START=always
    or never decides instead (default auto: Linux's CPU pressure over the last 10 s, else the load average)."""
    setting = os.environ.get("PLANWH_DBT_WARM_START", "").strip().lower() or "auto"
    if setting in ("always", "never"):
        return setting == "always", f"PLANWH_DBT_WARM_START={setting}"
    try:
        cores: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = None
    if cores is not None and cores < 2:
        return False, "one core: nothing to run it beside"
    try:
        with open("/proc/pressure/cpu", encoding="ascii") as pressure:
            some = dict(item.split("=") for item in pressure.readline().split()[1:])
        busy = float(some["avg10"])
        return busy <= CPU_BUSY_PERCENT, f"tasks waited for a CPU {busy:g} % of the last 10 s"
    except (OSError, KeyError, ValueError):
        pass
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = None
    if load is None or cores is None:
        return True, "no load figures"
    return load < cores - 0.5, f"load average {load:.2f} on {cores} cores"


def prestart(project_dir: Path, state: Path, env: dict[str, str]) -> None:
    """Before a run exists (`planwh refresh`, before Dagster is imported): a warm dbt for the next run, if
    a core is to spare."""
    if spare_core()[0]:
        _keep(None, start_warm(project_dir, state, env))


def warm_up_for_run(run_id: str, project_dir: Path, state: Path, env: dict[str, str]) -> str:
    """At a run's first step: a warm dbt for its build, the one started for the next run if there is one,
    else a new one if a core is to spare. Says which, for the run's log."""
    if _WARM and _WARM[0][0] is None and _WARM[0][1].process.poll() is None:
        _WARM[0] = (run_id, _WARM[0][1])
        return "dbt is starting warm beside this step (started with the refresh)"
    spare, why = spare_core()
    if not spare:
        _keep(run_id, None)
        return f"dbt will start when the models are built, not warm beforehand: no core to spare ({why})"
    _keep(run_id, start_warm(project_dir, state, env))
    return f"dbt is starting warm beside this step ({why})"


def take_warm(run_id: str) -> WarmDbt | None:
    """The run's warm dbt (or the one started for the next run), if any; the caller closes it after the
    build."""
    if _WARM and _WARM[0][0] in (run_id, None):
        return _WARM.pop()[1]
    return None


@atexit.register
def _close_unused() -> None:
    _keep(None, None)


# ---- the warm process's side -------------------------------------------------------------------------


def serve(
    path: Path, parent: int, project: str = "", state: str = "", idle_seconds: float = IDLE_SECONDS
) -> int:
    die_with_parent(parent)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))  # at once: a wrapper that comes before the imports are done waits in accept
    listener.listen(1)
    from dbt.cli.main import cli  # the point of it all: ~1.4 s while the refresh does something else

    if project:
        _rehearse(cli, Path(project), Path(state) if state else None, path.parent / "rehearsal")
    listener.settimeout(idle_seconds)
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        return 0
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            path.unlink()  # one invocation: a later wrapper finds no socket and runs dbt itself
    conn.settimeout(30.0)
    header, fds, _flags, _addr = socket.recv_fds(conn, _HEADER.size, 3)
    peer_uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[2]
    if len(header) != _HEADER.size or len(fds) != 3 or peer_uid != os.getuid():
        return 1
    size = _HEADER.unpack(header)[0]
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            return 1
        body += chunk
    request = json.loads(body)
    conn.settimeout(None)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.argv = ["dbt", *request["argv"]]
    if os.environ.get("PYTHONUNBUFFERED"):  # as dbt started with it writes each log line at once
        for fd, name in ((1, "stdout"), (2, "stderr")):
            was = getattr(sys, name)
            raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 (the process's own stream)
            setattr(sys, name, io.TextIOWrapper(raw, was.encoding, was.errors, write_through=True))
    conn.sendall(f"pid {os.getpid()}\n".encode())
    finished = threading.Event()

    def watch_wrapper():  # the wrapper gone mid-build (killed alone): so is this dbt, as an exec'd one would be
        with contextlib.suppress(OSError):
            conn.recv(1)
        if not finished.is_set():
            os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch_wrapper, daemon=True).start()
    for signum in _FORWARDED:  # as a freshly started dbt has them
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cli.main(args=request["argv"], prog_name="dbt")
        status = 0
    except SystemExit as done:
        status = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finished.set()
    sys.stdout.flush()
    sys.stderr.flush()
    conn.sendall(f"exit {status}\n".encode())
    # the connection closes when this process has exited (DuckDB's file with it): the wrapper waits for that
    return 0


def _rehearse(cli, project: Path, state: Path | None, scratch: Path) -> None:
    """`dbt ls` of the seeds in a scratch target folder, its output discarded: dbt builds much of what a
    command needs (the schemas it validates the project and profile with, the (de)serialisers of its
    manifest) on first use, ~1 s that the real invocation then finds done. `ls` reads the project and the
    partial-parse state (copied) only: it opens no database and writes only into the scratch folder. Any
    failure is ignored: the real invocation runs as it would have."""
    with contextlib.suppress(Exception):
        scratch.mkdir()
        if state is not None and state.is_file():
            shutil.copyfile(state, scratch / state.name)
        os.environ.update(
            {
                "DBT_LOG_PATH": str(scratch),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DBT_LOG_FORMAT": "json",
            }
        )
        os.environ.pop("DBT_TARGET_PATH", None)
        args = ["--log-level-file", "none", "--quiet", "ls", "--resource-type", "seed"]
        args += ["--project-dir", str(project), "--profiles-dir", str(project), "--target-path", str(scratch)]
        with contextlib.suppress(SystemExit):
            cli.main(args=args, prog_name="dbt")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        sys.exit(serve(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]))
    main()
