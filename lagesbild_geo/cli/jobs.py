"""``lagesbild jobs prune``: remove the processes' expired jobs and their result files."""

from __future__ import annotations

import click

from lagesbild_geo.analysis import jobs
from lagesbild_geo.cli.common import connect, handle_errors, settings_of


@click.group("jobs")
def jobs_group() -> None:
    """The jobs of the analysis processes (asynchronous runs over HTTP)."""


@jobs_group.command("prune")
@click.pass_context
@handle_errors
def prune_cmd(ctx) -> None:
    """Remove jobs older than LAGESBILD_JOB_RETENTION_S and their result files, and result
    files in <data dir>/jobs that no job names and that are as old (left by a stopped
    server, or by the job manager before issue 13, which kept every run). The server does
    the same before each new job and listing; run this from cron for an idle server."""
    settings = settings_of(ctx)
    with connect(ctx) as conn, conn.transaction():
        pruned = jobs.prune(conn.cursor(), settings.job_retention_s, settings.data_dir / "jobs")
    click.echo(
        f"Removed {pruned.records} expired job(s) and {pruned.files} result file(s) "
        f"({pruned.bytes} bytes)."
    )
