"""Our operator for the benchmark's task (registered through INGESTION_OPERATOR_MODULES)."""

from __future__ import annotations

from benchmarks.e2e.work import work
from ingestion.operators.base import Operator, OperatorContext
from ingestion.operators.registry import register_operator


@register_operator("e2e_work")
class E2eWork(Operator):
    def execute(self, context: OperatorContext) -> None:
        work("ours", context.dag_id, context.task_id, context.logical_time.isoformat())
