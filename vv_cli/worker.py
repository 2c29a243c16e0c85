"""`vv worker --stage scan|summarize`: a long-lived worker of the queue runner (orchestrator/queue_runner.py).

It loads the stage's models once, then takes jobs from Redis (QUEUE_REDIS_URL) until SIGTERM/SIGINT;
the job in hand is finished before it stops. Run as many as the cores (or boxes) allow.
"""

import signal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from vv_cli.app import app


class QueuedStage(StrEnum):
    scan = "scan"
    summarize = "summarize"


@app.command()
def worker(
    stage: Annotated[QueuedStage, typer.Option(help="The stage this worker does.")],
    config: Annotated[Path | None, typer.Option(
        help="summarize only: its config (default: summarize_scene/config.yaml).")] = None,
    metrics_port: Annotated[int | None, typer.Option(
        help="Serve Prometheus metrics on this port (queue length, jobs in flight, redeliveries).")] = None,
    metrics_address: Annotated[str, typer.Option(help="Address of the metrics port.")] = "127.0.0.1",
    max_jobs: Annotated[int | None, typer.Option(help="Stop after this many jobs (tests, benchmarks).")] = None,
) -> None:
    """Take scan or summarize jobs from the queue, with the models loaded once."""
    from orchestrator.settings import PipelineSettings
    from vv_core.jsonlog import start_process
    from vv_core.queue_worker import Worker
    from vv_core.workqueue import connect

    settings = PipelineSettings()
    start_process(f"worker-{stage.value}", settings, console="stderr")
    if stage is QueuedStage.scan:
        from scan_video.worker import scan_handler

        handler = scan_handler()
    else:
        from summarize_scene.worker import summarize_handler

        handler = summarize_handler(config_path=config)
    runner = Worker(connect(settings.queue_redis_url), stage.value, handler,
                    claim_idle_s=settings.queue_claim_idle_s, max_deliveries=settings.queue_max_deliveries)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr=metrics_address, registry=runner.metrics.registry)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: runner.stop.set())
    print(f"worker {runner.name} ready ({stage.value})", flush=True)
    runner.run(max_jobs=max_jobs)
