"""Operators the ingestion tests run (registered on import; worker subprocesses import this
module too, so it has no pytest imports)."""

from __future__ import annotations

import time

from connectors.errors import AuthorizationRevoked, PermanentError, RateLimited, TokenExpired, TransientError
from ingestion.operators.base import Operator
from ingestion.operators.registry import register_operator


@register_operator("test_ok", replace=True)
class OkOperator(Operator):
    def execute(self, context):
        context.log.info(
            "hello from %s.%s try %s params %s",
            context.dag_id,
            context.task_id,
            context.try_number,
            sorted(context.params),
        )
        print(f"printed by {context.task_id}")
        time.sleep(float(context.params.get("sleep", 0)))


@register_operator("test_flaky", replace=True)
class FlakyOperator(Operator):
    """Fails with a transient error until try `fail_times` + 1."""

    def execute(self, context):
        if context.try_number <= int(context.params.get("fail_times", 1)):
            raise TransientError(f"flaky failure on try {context.try_number}", platform="sandbox")
        context.log.info("succeeded on try %s", context.try_number)


@register_operator("test_error", replace=True)
class ErrorOperator(Operator):
    ERRORS = {
        "permanent": PermanentError,
        "transient": TransientError,
        "revoked": AuthorizationRevoked,
        "token": TokenExpired,
    }

    def execute(self, context):
        kind = context.params.get("error", "transient")
        if kind == "rate_limited":
            raise RateLimited("slow down", retry_after=float(context.params.get("retry_after", 30)), platform="sandbox")
        if kind == "token" and context.try_number > 1:
            context.log.info("token refreshed, try %s succeeds", context.try_number)
            return
        raise self.ERRORS[kind](f"{kind} error", platform="sandbox")


@register_operator("test_sleep", replace=True)
class SleepOperator(Operator):
    """Sleeps in small steps (so a timeout's asynchronous exception lands promptly), unless
    `only_try` names another try."""

    def execute(self, context):
        only = context.params.get("only_try")
        if only is not None and context.try_number != int(only):
            context.log.info("try %s: not sleeping", context.try_number)
            return
        context.log.info("sleeping %s s", context.params.get("seconds", 60))
        end = time.monotonic() + float(context.params.get("seconds", 60))
        while time.monotonic() < end:
            time.sleep(0.02)
