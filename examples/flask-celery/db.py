"""db.py: the SQLAlchemy side of the example, configured from the environment.

DATABASE_URL      postgresql+psycopg2://user:pw@host:port/db (PostgreSQL or lifeguard)
DB_POOL           queue (QueuePool, SQLAlchemy's default) | null (NullPool: connect per checkout)
DB_POOL_SIZE      QueuePool pool_size (default 5)
DB_MAX_OVERFLOW   QueuePool max_overflow (default 10)
DB_POOL_TIMEOUT   QueuePool pool_timeout in seconds (default 10)
FORK_FIX          1: every forked process drops the pooled connections it inherited
                  (engine.dispose(close=False) in gunicorn's post_fork and Celery's
                  worker_process_init) and every task ends with Session.remove();
                  0 (default): neither, which is how the field app shipped.
"""

import logging
import os

from sqlalchemy import Column, DateTime, Integer, String, Text, create_engine, func
from sqlalchemy.orm import declarative_base, deferred, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

DATABASE_URL = os.environ.get(
    "DATABASE_URL", "postgresql+psycopg2://app:app-pw@127.0.0.1:5432/app"
)
POOL_KIND = os.environ.get("DB_POOL", "queue").lower()
POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "5"))
MAX_OVERFLOW = int(os.environ.get("DB_MAX_OVERFLOW", "10"))
POOL_TIMEOUT = float(os.environ.get("DB_POOL_TIMEOUT", "10"))
FORK_FIX = os.environ.get("FORK_FIX", "0").lower() in ("1", "on", "yes", "true")

log = logging.getLogger("app.db")


def make_engine():
    kw = {"future": True, "connect_args": {"connect_timeout": 10, "application_name": "flask-celery"}}
    if POOL_KIND == "null":
        kw["poolclass"] = NullPool
    elif POOL_KIND == "queue":
        kw.update(pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_timeout=POOL_TIMEOUT)
    else:
        raise SystemExit(f"DB_POOL must be queue or null, not {POOL_KIND!r}")
    return create_engine(DATABASE_URL, **kw)


engine = make_engine()
Session = scoped_session(sessionmaker(bind=engine, future=True))
Base = declarative_base()


class Site(Base):
    """The instance's settings row. private_key is big and rarely needed, so it is
    deferred: reading it issues a second SELECT on first access."""

    __tablename__ = "site"
    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=False)
    inbox_enabled = Column(Integer, nullable=False, default=1)
    max_payload = Column(Integer, nullable=False, default=65536)
    private_key = deferred(Column(Text, nullable=False))


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    username = Column(String(50), unique=True, nullable=False)
    bio = deferred(Column(Text, nullable=False, default=""))
    inbox_count = Column(Integer, nullable=False, default=0)


class InboxItem(Base):
    __tablename__ = "inbox_items"
    id = Column(Integer, primary_key=True)
    activity_id = Column(String(80), unique=True, nullable=False)
    user_id = Column(Integer, nullable=False, index=True)
    payload = Column(Text, nullable=False)
    worker_pid = Column(Integer, nullable=False)
    received_at = Column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def after_fork(where):
    """The fork fix: forget (do not close: the parent still owns them) the pooled
    connections this process inherited, so it opens its own."""
    if FORK_FIX:
        engine.dispose(close=False)
        log.info("fork fix: %s pid %d disposed inherited pool", where, os.getpid())


def warm_settings_cache():
    """What the field app did at import time: read the site settings once. With a
    QueuePool this leaves a connection checked in to the pool of the process that will
    fork gunicorn's or Celery's workers: each child inherits that socket."""
    s = Session()
    try:
        site = s.get(Site, 1)
        return {"name": site.name, "inbox_enabled": site.inbox_enabled} if site else {}
    finally:
        Session.remove()


def init_schema(n_users=50):
    """Create tables and seed data (run once by run-load, before the app starts)."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    s = Session()
    s.add(Site(id=1, name="example.social", private_key="-----BEGIN KEY-----\n" + "k" * 3000))
    for i in range(n_users):
        s.add(User(id=i + 1, username=f"user{i}", bio=f"bio of user {i} " * 20))
    s.commit()
    Session.remove()
