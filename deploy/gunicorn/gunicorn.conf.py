"""gunicorn for one app server: `gunicorn -c /srv/bcma/deploy/gunicorn/gunicorn.conf.py
hospital.wsgi` (deploy/systemd/bcma-app.service). bench/cluster.py starts the same file on
127.0.0.1 with GUNICORN_BIND and GUNICORN_WORKERS set."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: a check or a record is a few milliseconds of Python and a few round trips to
# PostgreSQL. Two per core keeps the cores busy while some workers wait for the database.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
# Longer than any report should take; HAProxy waits 35 s (deploy/haproxy/haproxy.cfg).
timeout = 30
# SIGTERM (systemctl stop, a rolling upgrade): finish the requests in hand, then exit.
graceful_timeout = 30
# Behind HAProxy on a private network: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
