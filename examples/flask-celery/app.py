"""app.py: the Flask side. POST /inbox reads the site settings (including the deferred
private_key, as a signature check would) and enqueues a Celery task; GET /u/<name> is a
profile page; GET /health/db is a readiness check. Every failure is logged as one line
starting "APPERR" (see run-load, which counts them)."""

import json
import logging
import os
import sys
import time
import uuid

from flask import Flask, abort, jsonify, request
from sqlalchemy import select, text

import db
from db import InboxItem, Session, Site, User

logging.basicConfig(
    stream=sys.stderr,
    level=logging.INFO,
    format="%(asctime)s %(levelname)s pid=%(process)d %(name)s: %(message)s",
)
log = logging.getLogger("app")

app = Flask(__name__)
SETTINGS = db.warm_settings_cache()


def one_line(exc):
    msg = " ".join(str(exc).split())
    return f"{type(exc).__module__}.{type(exc).__name__}: {msg[:300]}"


@app.teardown_appcontext
def remove_session(_exc):
    # Flask-SQLAlchemy does this for every request; it is not what the fork fix is about.
    Session.remove()


@app.errorhandler(Exception)
def on_error(exc):
    if hasattr(exc, "code") and isinstance(getattr(exc, "code"), int) and exc.code < 500:
        return exc
    log.error("APPERR where=web path=%s %s", request.path, one_line(exc))
    return jsonify(error=type(exc).__name__), 500


@app.post("/inbox")
def inbox():
    from tasks import process_inbox

    body = request.get_json(force=True)
    site = Session.get(Site, 1)
    if site is None or not site.inbox_enabled:
        abort(503)
    key = site.private_key  # deferred: a second SELECT, as a signature check does
    if not key.startswith("-----BEGIN KEY-----"):
        raise RuntimeError(f"site private key looks wrong: {key[:30]!r}")
    payload = json.dumps(body)
    if len(payload) > site.max_payload:
        abort(413)
    activity_id = body.get("id") or str(uuid.uuid4())
    process_inbox.delay(activity_id, body.get("to", "user0"), payload)
    return jsonify(queued=activity_id), 202


@app.get("/u/<username>")
def profile(username):
    user = Session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        abort(404)
    bio = user.bio  # deferred column
    recent = Session.execute(
        select(InboxItem.activity_id).where(InboxItem.user_id == user.id)
        .order_by(InboxItem.id.desc()).limit(5)
    ).scalars().all()
    return (
        f"<h1>{user.username}</h1><p>{bio[:80]}</p><p>{user.inbox_count} messages</p>"
        f"<ul>{''.join(f'<li>{a}</li>' for a in recent)}</ul>"
    )


@app.get("/health/db")
def health_db():
    t0 = time.monotonic()
    try:
        Session.execute(text("SELECT 1")).scalar_one()
    except Exception as exc:  # a readiness probe answers, it does not raise
        log.error("APPERR where=health %s", one_line(exc))
        return jsonify(status="down", error=type(exc).__name__), 503
    return jsonify(status="ok", latency_ms=round((time.monotonic() - t0) * 1000, 2),
                   pid=os.getpid())
