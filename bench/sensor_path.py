"""The sensor's path, timed (run by bench/run.py in a fresh process with the tier's environment):
evaluate the `new_inbox_files` sensor once, launch the one run it asks for as the daemon would (the
reconstructed `refresh` job with its own executor and the request's run key and tags), and report the
seconds of each part as JSON on stdout. The daemon adds its tick interval (60 s) and queue polling on top.
"""

from __future__ import annotations

import json
import sys
import time


def main(as_of: str) -> int:
    started = time.perf_counter()
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from pipelines.defs.ingest.sensors import new_inbox_files
    from pipelines.runs import REPO_ROOT, local_instance

    with local_instance() as instance:
        imported = time.perf_counter()
        context = dg.build_sensor_context(instance=instance)
        request = new_inbox_files(context)
        if not isinstance(request, dg.RunRequest):
            print(json.dumps({"error": f"expected one run request, got {request!r}"}))
            return 1
        evaluated = time.perf_counter()
        job = ReconstructableRepository.for_module(
            "pipelines.definitions", "defs", working_directory=str(REPO_ROOT)
        ).get_reconstructable_job("refresh")
        config = {"resources": {"planwh": {"config": {"as_of": as_of}}}}
        tags = {**request.tags, "dagster/run_key": request.run_key or ""}
        with dg.execute_job(job, instance, run_config=config, tags=tags) as result:
            success = result.success
        finished = time.perf_counter()
    print(
        json.dumps(
            {
                "success": success,
                "files": int(request.tags["planwh/files"]),
                "start_s": round(imported - started, 2),
                "sensor_s": round(evaluated - imported, 2),
                "run_s": round(finished - evaluated, 2),
            }
        )
    )
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
