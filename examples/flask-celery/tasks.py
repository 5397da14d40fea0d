"""tasks.py: the Celery side. process_inbox re-reads the site settings (deferred
private_key again), looks the recipient up, writes the inbox row and bumps a counter.
With FORK_FIX=1 each prefork child drops its inherited pool (worker_process_init) and
each task ends with Session.remove() (task_postrun); with FORK_FIX=0 neither happens.
Failures are logged as one "APPERR where=task" line and are not retried: a failed task
is lost work, which run-load counts."""

import logging
import os

from celery import Celery
from celery.signals import task_failure, task_postrun, worker_process_init
from sqlalchemy import select

import db
from db import InboxItem, Session, Site, User

log = logging.getLogger("app.tasks")

celery = Celery("tasks", broker=os.environ.get("BROKER_URL", "redis://127.0.0.1:6379/0"))
celery.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=True,
    broker_connection_retry_on_startup=True,
)

# Importing the Flask app is what the field app's tasks did (for its settings cache):
# the Celery parent process reads the settings once, before it forks its children.
import app as _webapp  # noqa: E402,F401


@worker_process_init.connect
def _after_fork(**_kw):
    db.after_fork("celery child")


@task_postrun.connect
def _end_of_task(**_kw):
    if db.FORK_FIX:
        Session.remove()


@task_failure.connect
def _failed(exception=None, task_id=None, **_kw):
    from app import one_line

    log.error("APPERR where=task pid=%d %s", os.getpid(), one_line(exception))


@celery.task(name="process_inbox")
def process_inbox(activity_id, username, payload):
    site = Session.get(Site, 1)
    if not site.private_key.startswith("-----BEGIN KEY-----"):
        raise RuntimeError("site private key looks wrong")
    user = Session.execute(select(User).where(User.username == username)).scalar_one()
    Session.add(InboxItem(activity_id=activity_id, user_id=user.id, payload=payload,
                          worker_pid=os.getpid()))
    user.inbox_count = User.inbox_count + 1
    Session.commit()
