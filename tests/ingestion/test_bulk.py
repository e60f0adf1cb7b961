"""insert_rows (the scheduler's plain multi-row INSERT) stores what bulk_create stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError

from ingestion.bulk import insert_rows
from ingestion.models import DagRun, TaskInstance
from tests.ingestion import factories

pytestmark = pytest.mark.django_db(transaction=True)

FIELDS = [f.name for f in TaskInstance._meta.concrete_fields if not f.primary_key]
COLUMNS = [f.attname for f in TaskInstance._meta.concrete_fields if not f.primary_key]


def _instances(run, prefix):
    now = datetime(2026, 3, 8, 7, 30, 15, 123456, tzinfo=UTC)
    # Columns that mix values a per-value cache could confuse: True/1/1.0, {}/[]/None,
    # dicts with equal items in another order, a timestamp with microseconds.
    return [
        TaskInstance(
            run=run,
            task_id=f"{prefix}a",
            operator="test_ok",
            is_dummy=True,
            params={"a": 1, "b": [1, 2]},
            upstream_task_ids=[],
            state="success",
            try_number=1,
            max_tries=1,
            retry_delay=1.0,
            timeout=None,
            pool="p",
            started_at=now,
            ended_at=now,
        ),
        TaskInstance(
            run=run,
            task_id=f"{prefix}b",
            operator="test_ok",
            is_dummy=False,
            params={"b": [1, 2], "a": 1},
            upstream_task_ids=["a"],
            state="scheduled",
            try_number=0,
            max_tries=3,
            retry_delay=60,
            timeout=1.5,
            pool="p",
        ),
        TaskInstance(
            run=run,
            task_id=f"{prefix}c",
            operator="test_ok",
            is_dummy=False,
            params={"a": 1.0, "b": [True, 2]},
            upstream_task_ids=["a", "b"],
            timeout=1,
            pool="q",
            started_at=now,
        ),
        TaskInstance(run=run, task_id=f"{prefix}d", operator="other", params={}, upstream_task_ids=[], timeout=True),
    ]


def _stored(prefix):
    rows = TaskInstance.objects.filter(task_id__startswith=prefix).order_by("task_id").values_list(*COLUMNS)
    return [(row[1][len(prefix) :], *row[2:]) for row in rows]  # without run_id; task ids unprefixed


def test_insert_rows_stores_what_bulk_create_stores():
    dag = factories.dag()
    run = DagRun.objects.create(dag=dag, logical_time=datetime(2026, 3, 8, tzinfo=UTC))
    TaskInstance.objects.bulk_create(_instances(run, "orm_"))
    insert_rows(TaskInstance, _instances(run, "raw_"), FIELDS)

    assert _stored("raw_") == _stored("orm_")
    c = TaskInstance.objects.get(task_id="raw_c")
    assert c.params == {"a": 1.0, "b": [True, 2]} and isinstance(c.params["a"], float) and c.params["b"][0] is True
    assert TaskInstance.objects.get(task_id="raw_b").params == {"b": [1, 2], "a": 1}


def test_insert_rows_ignore_conflicts_keeps_the_existing_row():
    dag = factories.dag()
    first = datetime(2026, 3, 8, tzinfo=UTC)
    existing = DagRun.objects.create(dag=dag, logical_time=first, state=DagRun.State.SUCCESS)
    created_at = datetime(2026, 3, 9, tzinfo=UTC)
    runs = [
        DagRun(dag=dag, logical_time=t, state=DagRun.State.QUEUED, created_at=created_at)
        for t in (first, datetime(2026, 3, 8, 1, tzinfo=UTC))
    ]
    fields = [f.name for f in DagRun._meta.concrete_fields if not f.primary_key]

    insert_rows(DagRun, runs, fields, ignore_conflicts=True)

    assert DagRun.objects.filter(dag=dag).count() == 2
    existing.refresh_from_db()
    assert existing.state == DagRun.State.SUCCESS
    assert DagRun.objects.get(dag=dag, logical_time=runs[1].logical_time).created_at == created_at
    with pytest.raises(IntegrityError):  # without ignore_conflicts the unique constraint holds
        insert_rows(DagRun, runs[:1], fields)


def test_insert_rows_text_that_needs_escaping_across_several_statements(monkeypatch):
    """Quotes, backslashes, percent signs and non-Latin names survive; on MySQL the rows are
    split over several INSERT statements when they pass the size limit."""
    from ingestion import bulk

    monkeypatch.setattr(bulk, "MYSQL_STATEMENT_BYTES", 600)
    dag = factories.dag()
    run = DagRun.objects.create(dag=dag, logical_time=datetime(2026, 3, 8, tzinfo=UTC))
    names = [f'esc_{i}_O\'Brien \\ 100% 巨量引擎 "q" %s' for i in range(40)]
    objs = [
        TaskInstance(
            run=run,
            task_id=name,
            operator="test_ok",
            params={"name": name, "i": i},
            upstream_task_ids=[name],
            error="line\nbreak\x00nul" if i == 0 else "",
        )
        for i, name in enumerate(names)
    ]

    insert_rows(TaskInstance, objs, FIELDS)

    stored = {ti.task_id: ti for ti in TaskInstance.objects.filter(run=run)}
    assert sorted(stored) == sorted(names)
    for i, name in enumerate(names):
        assert stored[name].params == {"name": name, "i": i} and stored[name].upstream_task_ids == [name]
    assert stored[names[0]].error == "line\nbreak\x00nul"
