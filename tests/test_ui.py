"""UI smoke test: the Dagster webserver starts on a free local port and serves the lineage over GraphQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _as_make_ui() -> dict:
    """The environment `make ui` gives the code location: `dagster dev` (DAGSTER_IS_DEV_CLI makes
    dagster-dbt prepare the project) from a shell whose PATH does not include the venv."""
    env = dict(os.environ, DAGSTER_IS_DEV_CLI="1")
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def test_webserver_serves_the_asset_graph_on_localhost():
    port = free_port()
    webserver = Path(sys.executable).with_name("dagster-webserver")
    process = subprocess.Popen(
        [str(webserver), "-h", "127.0.0.1", "-p", str(port)],  # the code location from pyproject.toml
        cwd=REPO,
        env=_as_make_ui(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(process.stdout.read().decode(errors="replace")[-3000:]) from None
                time.sleep(1)
        locations = graphql(port, "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }")
        assert [e["name"] for e in locations["data"]["workspaceOrError"]["locationEntries"]] == ["planwh"]
        data = graphql(port, "{ assetNodes { assetKey { path } dependencyKeys { path } groupName } }")
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["data"]["assetNodes"]}
        edges = {(("/".join(d["path"])), key) for key, n in nodes.items() for d in n["dependencyKeys"]}
        assert ("inbox_files", "raw/submissions") in edges
        assert ("raw/indicator_values", "staging/stg_raw__indicator_values") in edges
        assert ("intermediate/int_indicator_attainment_evaluated", "marts/fct_indicator_attainment") in edges
        assert ("marts/fct_flags", "ops/alerts") in edges
        assert ("ops/alerts", "published/warehouse") in edges
        assert nodes["marts/fct_flags"]["groupName"] == "marts"
        # bound to loopback only
        with socket.socket() as probe:
            probe.settimeout(2)
            external = socket.gethostbyname(socket.gethostname())
            if not external.startswith("127."):
                assert probe.connect_ex((external, port)) != 0
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
