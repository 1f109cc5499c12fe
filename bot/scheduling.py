"""The scheduler: PTB JobQueue jobs that make the weekly cycle run itself.

The jobs carry no state of their own: each one calls :func:`handlers.cycle_run.run_due_work`
("do everything due now", recorded in the database so nothing is done twice) and then plans the
jobs again from the database. At start-up a catch-up job runs at once (a close missed while the
bot was down happens then, once); a job per upcoming instant (opening, reminders, close, pickup
reminder, end of pickup) fires on time; a slow safety-net tick covers clock jumps and admin
changes made elsewhere.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram.ext import Application, CallbackContext

from handlers.broadcast_sending import resume_broadcasts
from handlers.context import services_of
from handlers.cycle_run import DueReport, run_due_work
from models.planning import cycles_to_watch, upcoming_moments
from models.worker_locks import SCHEDULER, exclusive

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

JOB_PREFIX = "desserte:"
CATCH_UP_JOB = JOB_PREFIX + "catch-up"
TICK_JOB = JOB_PREFIX + "tick"
WAKE_JOB = JOB_PREFIX + "wake"
# A job that fires late (start-up slower than a second, a busy loop) still runs: the work it
# triggers is whatever is due then, and doing it twice does nothing twice.
_LATE_OK: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True}

__all__ = ["install_jobs", "reschedule", "run_due_work", "run_scheduled"]


async def run_scheduled(application: AnyApplication) -> DueReport:
    """One scheduler pass: do what is due (one pass at a time, in this process and among the
    workers sharing a PostgreSQL database), take over the broadcasts a stopped worker left, then
    plan the next jobs."""
    services = services_of(application)
    async with services.scheduler_lock, exclusive(services.engine, SCHEDULER, services.network_id):
        report = await run_due_work(application)
    await resume_broadcasts(application)
    await reschedule(application)
    return report


async def _job(context: CallbackContext[Any, Any, Any, Any]) -> None:
    try:
        report = await run_scheduled(context.application)
    except Exception:
        log.exception("the scheduler pass failed; the next tick will try again")
        return
    if not report.idle:
        log.info("scheduler: %s", report)


async def reschedule(application: AnyApplication) -> None:
    """Replace the timed jobs by one per upcoming instant found in the database."""
    queue = application.job_queue
    if queue is None:
        return
    services = services_of(application)
    async with services.sessions() as session:
        cycles = await cycles_to_watch(session)
    moments = upcoming_moments(services.calendar, cycles, services.now())
    for job in queue.jobs():
        if job.name and job.name.startswith(JOB_PREFIX + "cycle:"):
            job.schedule_removal()
    for name, moment in moments:
        queue.run_once(_job, when=moment, name=JOB_PREFIX + name, job_kwargs=_LATE_OK)


def install_jobs(application: AnyApplication) -> None:
    """Install the scheduler on ``application`` (before or after it starts).

    A catch-up pass runs as soon as the job queue starts, then one job per upcoming instant and
    a safety-net tick. Admin actions plan the jobs again through ``services.reschedule``.
    """
    queue = application.job_queue
    if queue is None:
        raise RuntimeError(
            "the scheduler needs PTB's job queue: pip install 'python-telegram-bot[job-queue]'"
        )
    services = services_of(application)
    services.reschedule = reschedule

    async def wake(application: AnyApplication) -> None:
        queue.run_once(_job, when=0, name=WAKE_JOB, job_kwargs=_LATE_OK)

    services.wake = wake
    queue.run_once(_job, when=0, name=CATCH_UP_JOB, job_kwargs=_LATE_OK)
    tick = services.scheduler_tick
    queue.run_repeating(_job, interval=tick, first=tick, name=TICK_JOB, job_kwargs=_LATE_OK)
