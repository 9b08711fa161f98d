"""`planwh sql`: the analysts' SQL client on the published snapshot.

Interactive on a terminal (history, completion, `.tables`, `.describe`, `.export`), a script when stdin is
a pipe, or one command with `-c`. Every session is opened by `open_published`: read-only, no file,
network or extension access, configuration locked (docs/analysts.md), so nothing typed here can change
the warehouse or reach outside it. Files are written only by `.export` / `-o`, by this program, where the
analyst asks.

Why our own shell: the DuckDB CLI on the package index (1.5.6) cannot open a file written by DuckDB 2.0,
and harlequin 2.17 (which works with DuckDB 2.0) pins click==8.5.0 while sqlfluff 4.4 needs click<8.5,
so it cannot live in this environment (README design notes).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb

from ..outputs.exports import neutralise
from ..text import display_width
from .descriptions import headline, split_description
from .publish import open_published, published_info

PROMPT = "planwh> "
CONTINUE = "   ...> "
DEFAULT_MAX_ROWS = 40
SCHEMA_ORDER = ("marts", "ops", "catalog", "intermediate", "staging", "raw")
HISTORY = Path(os.environ.get("PLANWH_SQL_HISTORY", Path.home() / ".planwh_sql_history"))

HELP = """\
命令 Commands (end SQL statements with ;)
  .tables [schema|all]     主要表及说明 · the marts with their descriptions (or another schema, or all)
  .describe TABLE          列、类型与中英文说明 · columns, types and descriptions (e.g. .describe fct_flags)
  .export FILE.csv|.xlsx   导出上一结果（全部行）· write the last result, every row, to a file
  .mode table|columns|csv  显示方式 · display: a table, one line per column (wide rows), or CSV
  .maxrows N               最多显示行数 · rows shown on screen (default 40; .export writes all)
  .reopen                  打开最新发布的快照 · reconnect to the newest published snapshot
  .help  .quit             帮助 · this help; quit (or Ctrl-D)
The session is read-only: writing, ATTACH, reading files (read_csv …) and extensions are refused.
会话只读：写入、ATTACH、读取文件（read_csv 等）和加载扩展均被拒绝。"""


class SqlClientError(Exception):
    """A problem the analyst can fix, said in one line."""


def one_line(exc: BaseException) -> str:
    """DuckDB's message on one line, with what to do when the safe settings refused something."""
    text = " ".join(str(exc).split())
    if "disabled by configuration" in text or "disabled through configuration" in text:
        text += " — 分析会话不能读写文件或加载扩展 · the analyst session cannot read or write files or load extensions (use .export or -o to save a result)"
    elif "read-only mode" in text:
        text += " — 快照只读 · the published snapshot is read-only"
    elif "configuration has been locked" in text or "Cannot change configuration option" in text:
        text += " — 安全设置已锁定 · the safe settings are locked for this session"
    return text


_WIDE = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKENS = re.compile(f"[{_WIDE}]|[^\\s{_WIDE}]+|\\s+")


def wrap(text: str, width: int) -> list[str]:
    """Wrap by display width: Chinese characters take two columns and may break anywhere."""
    lines: list[str] = []
    line = ""
    for token in _TOKENS.findall(text):
        if token.isspace():
            line += " " if line else ""
            continue
        if line.strip() and display_width(line + token) > width:
            lines.append(line.rstrip())
            line = token
        else:
            line += token
    if line.strip():
        lines.append(line.rstrip())
    return lines or [""]


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


@dataclass
class Session:
    """One analyst session on a published snapshot."""

    path: Path
    mode: str = "table"
    max_rows: int = DEFAULT_MAX_ROWS
    width: int | None = None  # None: the terminal's
    last_sql: str | None = None
    con: duckdb.DuckDBPyConnection = field(init=False)

    def __post_init__(self) -> None:
        self.con = connect_snapshot(self.path)

    # -- running SQL -------------------------------------------------------------------------------
    def run_sql(self, sql: str) -> None:
        """Run one or more statements, showing the result of each that returns rows."""
        statements = [s.query for s in self.con.extract_statements(sql)]
        for statement in statements:
            self._interruptible(lambda statement=statement: self._run_one(statement))

    def _run_one(self, statement: str) -> None:
        relation = self.con.sql(statement)
        if relation is None:
            print("OK")
            return
        self.last_sql = statement
        self.show(relation)

    def _interruptible(self, work):
        """Run DuckDB work in a thread so Ctrl-C (which Python only sees between bytecodes of the main
        thread) interrupts the query instead of waiting for it."""
        outcome: dict = {}

        def target() -> None:
            try:
                outcome["value"] = work()
            except BaseException as exc:  # handed to the main thread
                outcome["error"] = exc

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        try:
            while thread.is_alive():
                thread.join(0.1)
        except KeyboardInterrupt:
            # DuckDB's interrupt only stops a query that is running: a Ctrl-C that lands before the thread
            # has started it (a loaded machine) would be lost and the query run on for minutes. Repeat it
            # until the work has ended.
            self.con.interrupt()
            thread.join(0.5)
            while thread.is_alive():
                self.con.interrupt()
                thread.join(0.5)
            outcome.clear()  # the interrupted result must go, or the connection stays busy with it
            raise
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def show(self, relation: duckdb.DuckDBPyRelation) -> None:
        if self.mode == "csv":
            cursor = self.con.execute(relation.sql_query())
            write_csv(sys.stdout, [d[0] for d in cursor.description], cursor.fetchall())
            return
        width = self.width or shutil.get_terminal_size((120, 40)).columns
        sys.stdout.flush()
        relation.show(
            max_width=width,
            max_rows=self.max_rows,
            null_value="NULL",
            render_mode="columns" if self.mode == "columns" else "rows",
        )
        sys.stdout.flush()

    def export(self, target: str, sql: str | None = None) -> int:
        sql = sql or self.last_sql
        if not sql:
            raise SqlClientError("没有可导出的结果 · no result to export yet: run a query first")
        cursor = self._interruptible(lambda: self.con.execute(sql))
        if cursor.description is None:
            raise SqlClientError("这条语句没有结果行 · that statement returns no rows to export")
        columns = [d[0] for d in cursor.description]
        rows = self._interruptible(cursor.fetchall)
        write_result(Path(target).expanduser(), columns, rows)
        return len(rows)

    # -- dot commands ------------------------------------------------------------------------------
    def tables(self, which: str = "marts") -> None:
        which = which or "marts"
        schemas = SCHEMA_ORDER if which == "all" else (which,)
        rows = self.con.execute(
            """
            select schema_name, table_name, comment, estimated_size from duckdb_tables()
            where database_name = current_database()
            union all
            select schema_name, view_name, comment, null from duckdb_views()
            where database_name = current_database() and not internal
            """
        ).fetchall()
        listed = [r for r in rows if r[0] in schemas]
        if not listed:
            known = sorted({r[0] for r in rows})
            raise SqlClientError(f"没有这个模式 · no schema {which!r}: try one of {', '.join(known)} or all")
        width = self.width or shutil.get_terminal_size((120, 40)).columns
        for schema in schemas:
            entries = sorted((r for r in listed if r[0] == schema), key=lambda r: r[1])
            if not entries:
                continue
            print(f"{schema}")
            name_width = max(len(r[1]) for r in entries) + 2
            for _, name, comment, size in entries:
                rows_text = f"{size:>7,} rows  " if size is not None else " " * 7 + "view  "
                lead = f"  {name:<{name_width}}{rows_text}"
                text = headline(comment) or "—"
                room = max(20, width - len(lead))
                wrapped = wrap(text, room)
                print(lead + wrapped[0])
                for more in wrapped[1:]:
                    print(" " * len(lead) + more)

    def describe(self, name: str) -> None:
        if not name:
            raise SqlClientError(
                "用法 · usage: .describe TABLE  (e.g. .describe fct_flags or .describe ops.alerts)"
            )
        schema, _, table = name.rpartition(".")
        candidates = self.con.execute(
            """
            select schema_name, table_name, comment from duckdb_tables()
            where database_name = current_database() and table_name = ? and (? = '' or schema_name = ?)
            union all
            select schema_name, view_name, comment from duckdb_views()
            where database_name = current_database() and view_name = ? and (? = '' or schema_name = ?)
            """,
            [table, schema, schema, table, schema, schema],
        ).fetchall()
        if not candidates:
            raise SqlClientError(f"没有这个表 · no table {name!r}: .tables lists them")
        candidates.sort(key=lambda r: SCHEMA_ORDER.index(r[0]) if r[0] in SCHEMA_ORDER else 99)
        schema, table, comment = candidates[0]
        columns = self.con.execute(
            """
            select column_name, data_type, comment from duckdb_columns()
            where database_name = current_database() and schema_name = ? and table_name = ?
            order by column_index
            """,
            [schema, table],
        ).fetchall()
        width = self.width or shutil.get_terminal_size((120, 40)).columns
        print(f"{schema}.{table} — {headline(comment) or '(no description)'}")
        halves = [(c, t.lower(), *split_description(d)) for c, t, d in columns]
        name_w = max(len(c) for c, *_ in halves) + 2
        type_w = max(len(t) for _, t, *_ in halves) + 2
        zh_w = min(24, max(display_width(zh) for *_, zh, _ in halves) + 2)
        lead_w = 2 + name_w + type_w + zh_w
        for column, dtype, zh, en in halves:
            lead = f"  {column:<{name_w}}{dtype:<{type_w}}{_pad(zh, zh_w)}"
            if display_width(lead) > lead_w:  # a long Chinese name: English on the next line
                print(lead.rstrip())
                lead = " " * lead_w
            wrapped = wrap(en, max(30, width - lead_w))
            print(lead + wrapped[0])
            for more in wrapped[1:]:
                print(" " * lead_w + more)

    def reopen(self) -> None:
        self.con.close()
        self.con = connect_snapshot(self.path)
        print(f"已重新打开 · reopened {self.path} ({published_note(self.path)})")

    def dot_command(self, line: str) -> bool:
        """Run a dot command; False when the session should end."""
        command, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        command = command.lower()
        if command in (".quit", ".exit", ".q"):
            return False
        if command in (".help", ".h", ".?"):
            print(HELP)
        elif command in (".tables", ".table", ".t"):
            self.tables(rest)
        elif command in (".describe", ".d", ".schema"):
            self.describe(rest)
        elif command in (".export", ".save", ".output"):
            if not rest:
                raise SqlClientError("用法 · usage: .export FILE.csv or .export FILE.xlsx")
            count = self.export(rest)
            print(f"已导出 {count} 行 · {count} rows written to {Path(rest).expanduser()}")
        elif command == ".mode":
            if rest not in ("table", "columns", "csv"):
                raise SqlClientError("用法 · usage: .mode table | columns | csv")
            self.mode = rest
        elif command == ".maxrows":
            if not rest.isdigit() or int(rest) < 1:
                raise SqlClientError("用法 · usage: .maxrows N (a positive number)")
            self.max_rows = int(rest)
        elif command == ".reopen":
            self.reopen()
        else:
            raise SqlClientError(f"未知命令 · unknown command {command}: .help lists them")
        return True

    def names(self) -> list[str]:
        """Table, schema.table and column names for completion."""
        rows = self.con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where database_name = current_database()"
        ).fetchall()
        words = set()
        for schema, table, column in rows:
            words.update((schema, table, f"{schema}.{table}", column))
        return sorted(words)


def connect_snapshot(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise SqlClientError(
            f"还没有发布的快照 · no published snapshot at {path}: run `make run` first "
            "(every refresh publishes one at its end)"
        )
    try:
        return open_published(path)
    except duckdb.Error as exc:
        raise SqlClientError(f"无法打开 · cannot open {path}: {one_line(exc)}") from exc


def published_note(path: Path) -> str:
    info = published_info(path)
    if not info:
        return "read-only"
    note = f"read-only, published {info.get('published_at', '?')}, evaluated as of {info.get('as_of', '?')}"
    if info.get("known_at"):
        note += f", 仅计 {info['known_at']} 前已收到的报送 · counting only what was received by {info['known_at']}"
    return note


# -- writing results -------------------------------------------------------------------------------
def _plain(value: object) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def write_csv(stream: TextIO, columns: list[str], rows: list[tuple]) -> None:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(_plain(v)) for v in row])


def write_result(path: Path, columns: list[str], rows: list[tuple]) -> None:
    """CSV (UTF-8 with BOM, opens in Excel) or XLSX by the file's suffix; formula-looking text neutralised."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SqlClientError(f"只能导出 .csv 或 .xlsx · export to a .csv or .xlsx file, not {path.name!r}")
    if not path.parent.is_dir():
        raise SqlClientError(f"目录不存在 · no such folder: {path.parent}")
    try:
        if suffix == ".csv":
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                write_csv(handle, columns, rows)
            return
        from openpyxl import Workbook
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("result")
        sheet.freeze_panes = "A2"
        sheet.append(columns)
        for row in rows:
            cells = []
            for value in row:
                value = neutralise(_plain(value))
                cells.append(ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value)
            sheet.append(cells)
        workbook.save(path)
    except OSError as exc:
        raise SqlClientError(f"无法写入 · cannot write {path}: {exc.strerror or exc}") from exc


# -- the loop --------------------------------------------------------------------------------------
_DOT = re.compile(r"^\s*\.[A-Za-z?]")


def _statement_complete(buffer: str) -> bool:
    text = re.sub(r"--[^\n]*", "", buffer).rstrip()
    return text.endswith(";")


def _setup_readline(session: Session):
    try:
        import readline
    except ImportError:  # no readline on this platform: plain input still works
        return None
    with contextlib.suppress(OSError):  # no history yet, or not readable: start without
        readline.read_history_file(HISTORY)
    readline.set_history_length(5000)
    words = [
        *(c.split()[0] for c in HELP.splitlines() if c.strip().startswith(".")),
        *session.names(),
        *[
            "select",
            "from",
            "where",
            "group",
            "by",
            "order",
            "having",
            "limit",
            "join",
            "left",
            "on",
            "and",
            "or",
            "not",
            "in",
            "is",
            "null",
            "count",
            "sum",
            "avg",
            "min",
            "max",
            "distinct",
            "as",
            "with",
            "union",
            "all",
            "case",
            "when",
            "then",
            "else",
            "end",
            "filter",
            "like",
            "between",
        ],
    ]
    readline.set_completer_delims(" \t\n(),;=<>'\"")

    def complete(text: str, state: int):
        matches = [w for w in words if w.lower().startswith(text.lower())]
        return matches[state] if state < len(matches) else None

    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")
    return readline


def _save_history(readline_module) -> None:
    if readline_module is None:
        return
    try:
        HISTORY.parent.mkdir(parents=True, exist_ok=True)
        readline_module.write_history_file(HISTORY)
        os.chmod(HISTORY, 0o600)
    except OSError:
        pass


def interact(session: Session) -> int:
    """The read-eval-print loop: prompts and history on a terminal, a script otherwise.

    Returns 0, or 1 when reading a script and a statement failed (as a script runner should)."""
    tty = sys.stdin.isatty()
    readline_module = _setup_readline(session) if tty else None
    if tty:
        # at a terminal, Ctrl-C stops the query whatever the shell was started from: a process started by a
        # script in the background (`nohup … &`) inherits SIGINT ignored, and Python then never raises
        # KeyboardInterrupt (the query ran on for minutes and the session hung)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(
            f"规划监测数据仓库 SQL · planwh SQL on {session.path}\n"
            f"  ({published_note(session.path)}; files, network and extensions are off)\n"
            "  .tables 列出主要表 · lists the marts   .describe 表名 · columns   .help   .quit\n"
            "  语句以 ; 结束 · end statements with ;",
            file=sys.stdout,
        )
    failed = False
    buffer = ""
    try:
        while True:
            try:
                if tty:
                    line = input(CONTINUE if buffer else PROMPT)
                else:
                    line = sys.stdin.readline()
                    if not line:
                        break
                    line = line.rstrip("\n")
            except EOFError:
                if tty:
                    print()
                break
            except KeyboardInterrupt:
                print("^C")
                buffer = ""
                continue
            if _DOT.match(line):
                if buffer.strip():
                    print(
                        "（未完成的语句已丢弃 · the unfinished statement was dropped: end statements with ;）"
                    )
                    buffer = ""
                try:
                    if not session.dot_command(line):
                        break
                except (SqlClientError, duckdb.Error) as exc:
                    failed = True
                    print(f"错误 Error: {one_line(exc)}", file=sys.stderr)
                except KeyboardInterrupt:
                    print("已中断 · interrupted", file=sys.stderr)
                continue
            if not buffer and not line.strip():
                continue
            buffer += line + "\n"
            if not _statement_complete(buffer):
                continue
            sql, buffer = buffer, ""
            try:
                session.run_sql(sql)
            except duckdb.Error as exc:
                failed = True
                print(f"错误 Error: {one_line(exc)}", file=sys.stderr)
            except KeyboardInterrupt:
                print("已中断 · interrupted", file=sys.stderr)
        if buffer.strip():  # a script's last statement without a semicolon still runs
            try:
                session.run_sql(buffer)
            except duckdb.Error as exc:
                failed = True
                print(f"错误 Error: {one_line(exc)}", file=sys.stderr)
    finally:
        _save_history(readline_module)
    return 1 if failed and not tty else 0


def run(path: Path, command: str | None = None, output: str | None = None, csv_out: bool = False) -> int:
    """`planwh sql`: exit 0 on success, 1 when SQL failed, 2 when the session could not start."""
    try:
        session = Session(path)
    except SqlClientError as exc:
        print(f"planwh sql: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(session, command, output, csv_out)
    except BrokenPipeError:  # `planwh sql -c … | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        session.con.close()


def _run(session: Session, command: str | None, output: str | None, csv_out: bool) -> int:
    if command is None:
        return interact(session)
    if not command.strip():
        print("planwh sql: 没有语句 · -c was given no SQL", file=sys.stderr)
        return 1
    if csv_out:
        session.mode = "csv"
    else:
        session.max_rows = 10**9  # a script gets every row
        if not sys.stdout.isatty():
            session.width = 10**6  # and every column
    try:
        if output:
            statements = [s.query for s in session.con.extract_statements(command)]
            if not statements:
                raise SqlClientError("没有语句 · no statement to run")
            for statement in statements[:-1]:
                session.run_sql(statement)
            count = session.export(output, statements[-1])
            print(f"已导出 {count} 行 · {count} rows written to {Path(output).expanduser()}", file=sys.stderr)
        elif _DOT.match(command):
            session.dot_command(command)
        else:
            session.run_sql(command)
    except (SqlClientError, duckdb.Error) as exc:
        print(f"planwh sql: {one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("planwh sql: 已中断 · interrupted", file=sys.stderr)
        return 130
    return 0
