"""`incident-service pipeline status|flush|sweep`, `incident-service purge` and
`incident-service reports delete`.

`flush`, `sweep` and `purge` run in this process and need the worker's keys: run them where the
worker runs (PROCESS_ROLE=worker), or pass `--enqueue` to hand the job to a worker through
Redis instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click
from flask.cli import with_appcontext

from incident_service.keystore import KeyFileMissing
from incident_service.pipeline import dispatch


def _worker_keys_missing(exc: KeyFileMissing) -> NoReturn:
    click.echo(
        f"this process does not hold {exc.path.name}: run the command where the worker runs "
        "(PROCESS_ROLE=worker) or add --enqueue",
        err=True,
    )
    sys.exit(2)


@contextmanager
def _in_this_process(step: str) -> Iterator[None]:
    """Run a pipeline step here; exit with a message when this process lacks the worker's keys
    or when some reports could not be anonymised (they are left marked failed)."""
    from incident_service.pipeline.flush import StatisticalSectionsUnusable

    try:
        yield
    except KeyFileMissing as exc:
        _worker_keys_missing(exc)
    except StatisticalSectionsUnusable as exc:
        click.echo(f"{step} finished with failures: {exc}", err=True)
        sys.exit(1)


def _enqueue(task_name: str) -> None:
    if dispatch.enqueue(task_name):
        click.echo(f"sent {task_name}")
    else:
        click.echo(f"could not send {task_name}: is Redis reachable?", err=True)
        sys.exit(1)


@click.group("pipeline")
def pipeline_group() -> None:
    """Watch and drive the anonymisation pipeline."""


@pipeline_group.command("status")
@with_appcontext
def status_command() -> None:
    """Database, broker and worker reachability, and how many reports wait."""
    from incident_service.health import pipeline_checks
    from incident_service.pipeline.status import status

    checks = pipeline_checks()

    def word(value: object) -> str:
        return "not used (eager mode)" if value is None else ("ok" if value else "UNREACHABLE")

    click.echo(f"database                 {word(checks['database'])}")
    click.echo(f"broker                   {word(checks['broker'])}")
    click.echo(f"worker                   {word(checks['worker'])}")
    if not checks["database"]:
        sys.exit(1)
    current = status()
    click.echo(f"awaiting anonymisation   {current.awaiting_anonymisation}")
    click.echo(f"waiting in mixing pool   {current.waiting_in_pool}")
    if current.oldest_wait_days is not None:
        click.echo(f"oldest has waited        {current.oldest_wait_days} day(s)")
    click.echo(f"batch due                {'yes' if current.flush_due else 'no'}")
    click.echo(f"awaiting withdrawal      {current.awaiting_withdrawal}")
    click.echo(f"awaiting restore         {current.awaiting_restore}")
    click.echo(f"failed (operator needed) {current.failed}")
    click.echo(f"statistical records      {current.statistical_records}")


@pipeline_group.command("flush")
@click.option("--enqueue", is_flag=True, help="Ask a worker to do it instead of this process.")
@with_appcontext
def flush_command(enqueue: bool) -> None:
    """Anonymise everything in the mixing pool now, whatever the batch size."""
    from incident_service.pipeline.flush import flush
    from incident_service.pipeline.pool import batch_sizes

    if enqueue:
        _enqueue(dispatch.TASK_PIPELINE_FLUSH)
        return
    with _in_this_process("flush"):
        result = flush(force=True)
    click.echo(
        f"recorded {result.recorded} in {result.batches} batch(es); "
        f"{result.skipped} no longer counted; {result.already_recorded} already recorded"
    )
    smallest = batch_sizes().overdue
    if result.batches and result.recorded < smallest * result.batches:
        click.echo(
            f"note: fewer than {smallest} records (ANONYMISE_MIN_OVERDUE_BATCH) were written "
            "together; so small a batch can be tied to its reports by when it was written",
            err=True,
        )


@pipeline_group.command("sweep")
@click.option("--retry-failed", is_flag=True, help="Queue reports marked failed once more.")
@click.option("--enqueue", is_flag=True, help="Ask a worker to do it instead of this process.")
@with_appcontext
def sweep_command(retry_failed: bool, enqueue: bool) -> None:
    """Re-queue reports the pipeline missed, withdraw or restore statistics whose message was
    lost, and flush if a batch is due (safe to repeat)."""
    from incident_service.pipeline.sweep import sweep

    if enqueue:
        _enqueue(dispatch.TASK_PIPELINE_SWEEP)
        return
    with _in_this_process("sweep"):
        result = sweep(retry_failed=retry_failed)
    recorded = result.flush.recorded if result.flush is not None else 0
    click.echo(
        f"re-queued {result.requeued}, retried {result.retried_failed} failed, "
        f"withdrawn {result.withdrawn}, restored {result.restored}, recorded {recorded}"
    )


@click.command("purge")
@click.option("--enqueue", is_flag=True, help="Ask a worker to do it instead of this process.")
@with_appcontext
def purge_command(enqueue: bool) -> None:
    """Delete closed reports older than RETENTION_DAYS, and events left without reports
    (statistics are kept)."""
    from incident_service.pipeline.retention import purge_expired_reports

    if enqueue:
        _enqueue(dispatch.TASK_RETENTION_PURGE)
        return
    result = purge_expired_reports()
    click.echo(
        f"deleted {result.deleted} report(s) closed before {result.cutoff.isoformat()} "
        f"and {result.events_deleted} event(s) left without reports"
    )


@click.group("reports")
def reports_group() -> None:
    """Operator actions on single reports."""


@reports_group.command("delete")
@click.argument("report_id")
@click.option("--enqueue", is_flag=True, help="Ask a worker to withdraw the statistics first.")
@with_appcontext
def reports_delete_command(report_id: str, enqueue: bool) -> None:
    """Carry out a reporter's deletion request: withdraw the report's statistics, then delete
    the report with its messages, notes and interventions (audited, no content)."""
    from incident_service.cases.deletion import (
        DeletionOutcome,
        delete_requested_report,
    )
    from incident_service.pipeline.withdrawal import withdraw_statistics

    def in_this_process(rid: str) -> bool:
        withdraw_statistics(rid)
        return True

    def by_worker(rid: str) -> bool:
        return dispatch.enqueue(dispatch.TASK_PIPELINE_WITHDRAW, rid)

    try:
        outcome = delete_requested_report(
            report_id=report_id, actor_id=None, withdraw=by_worker if enqueue else in_this_process
        )
    except KeyFileMissing as exc:
        _worker_keys_missing(exc)
    messages = {
        DeletionOutcome.DELETED: "report deleted",
        DeletionOutcome.NOT_REQUESTED: "no such report, or its reporter has not asked for deletion",
        DeletionOutcome.WITHDRAWING: "its statistics are being withdrawn; run this again shortly",
        DeletionOutcome.WORKER_UNREACHABLE: "nothing deleted: the withdraw task could not be sent",
    }
    click.echo(messages[outcome], err=outcome is not DeletionOutcome.DELETED)
    if outcome is not DeletionOutcome.DELETED:
        sys.exit(1)
