"""Extension objects, created unbound and attached to the app in `create_app` (init_app style)."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask, current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from kombu.entity import Exchange, Queue

from incident_service.models import db
from incident_service.ratelimit import rate_limit_key

csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=rate_limit_key, default_limits=[], headers_enabled=False)


@limiter.request_filter
def _no_limit_declared() -> bool:
    """Spare a request Flask-Limiter's walk when no limit is declared for its route.

    Without this, every request (the report form, the JSON API, the receipt page) resolves
    the route's limits, exemptions and blueprint limits before it finds there are none: about
    25 µs of CPU a request (docs/benchmarks.md). Every limit declared anywhere still applies,
    since a route is let through only if none can: no default or application limit, no limit
    on its view or blueprint, and no limited function called from it (Flask-Limiter records
    that hint before it checks such a function, so it is looked up at every request).
    Intake's filing limits are counted by intake itself (`intake.limits`) and are not affected.
    """
    endpoint = request.endpoint
    return (
        endpoint is not None
        and endpoint in _undeclared_endpoints()
        and not limiter.limit_manager.has_hints(endpoint)
    )


def _undeclared_endpoints() -> frozenset[str]:
    """The app's endpoints that no limit is declared for, worked out once per app."""
    found: frozenset[str] | None = current_app.extensions.get("incident_unlimited_endpoints")
    if found is None:
        found = frozenset(_endpoints_without_limits(current_app))
        current_app.extensions["incident_unlimited_endpoints"] = found
    return found


def _endpoints_without_limits(app: Flask) -> list[str]:
    manager = limiter.limit_manager
    marked = getattr(limiter, "_marked_for_limiting", None)
    if marked is None or manager.application_limits or manager.default_limits:
        return []  # a Flask-Limiter that works otherwise, or limits on every route: walk always
    unlimited = []
    for endpoint, view in app.view_functions.items():
        name = get_qualified_name(view)
        if name in marked or manager.decorated_limits(name):
            continue
        blueprint = endpoint.rpartition(".")[0]
        # Nested blueprints are named "parent.child": each level may carry limits of its own.
        levels = blueprint.split(".") if blueprint else []
        if any(
            manager.blueprint_limits(app, ".".join(levels[: depth + 1]))
            for depth in range(len(levels))
        ):
            continue
        unlimited.append(endpoint)
    return unlimited


# Task modules live in `workers/`; the web names tasks by string and never imports them,
# except in eager mode where Celery loads the modules listed here to run tasks in-process.
TASK_MODULES = ["workers.tasks", "workers.release_tasks", "workers.evidence_tasks"]

# Two queues, each with its own exchange and routing key, so that a message for one is never
# delivered to the other: `celery` for the statistics worker, `evidence` for the evidence
# worker (which alone holds the evidence key). `workers.celery_app` makes each consume its own.
DEFAULT_QUEUE = "celery"
EVIDENCE_QUEUE = "evidence"


def queue(name: str) -> Queue:
    exchange = Exchange(name, type="direct")  # type: ignore[no-untyped-call]
    return Queue(name, exchange, routing_key=name)  # type: ignore[no-untyped-call]


__all__ = ["babel", "celery_init_app", "csrf", "db", "limiter", "login_manager", "queue"]


def celery_init_app(app: Flask) -> Celery:
    """Bind one Celery app to the Flask app; tasks run inside the app context."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    eager = bool(app.config["CELERY_EAGER"])
    celery_app = Celery(app.name, task_cls=FlaskTask, include=TASK_MODULES)
    celery_app.conf.update(
        broker_url=app.config["REDIS_URL"],
        # Results are kept only for the tasks a page follows (a release being prepared, sent
        # with `dispatch.enqueue_tracked`); every other task ignores its result.
        result_backend=app.config["REDIS_URL"],
        result_expires=24 * 3600,
        task_ignore_result=True,
        task_always_eager=eager,
        task_eager_propagates=True,
        task_queues=[queue(DEFAULT_QUEUE), queue(EVIDENCE_QUEUE)],
        task_default_queue=DEFAULT_QUEUE,
        task_default_exchange=DEFAULT_QUEUE,
        task_default_routing_key=DEFAULT_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_time_limit=600,
        task_soft_time_limit=540,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # Publishing must fail fast when Redis is down: the report is already committed and
        # the sweep will pick it up, so a reporter must never wait on the broker.
        task_publish_retry=False,
        broker_transport_options={
            "socket_connect_timeout": 1,
            "socket_timeout": 2,
            "max_retries": 0,
            "visibility_timeout": 3600,
        },
        broker_connection_timeout=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
    )
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
