"""gunicorn settings for the example: 4 threaded workers, the app preloaded in the
master (so its import-time settings read happens before the fork, as in the field)."""

import os

import db

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
preload_app = True
timeout = 60
graceful_timeout = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 4
accesslog = None
loglevel = "info"


def post_fork(server, worker):
    db.after_fork("gunicorn worker")
