"""Fault injection for the scheduler tests: database queries that fail on cue.

`QueryFaults` is a `connection.execute_wrapper`: it numbers the queries that match a
pattern (all of them by default) from the moment it is installed, and the ones whose
number is in `failing` raise OperationalError before reaching the database, as a
dropped connection or a restarting server would."""

from __future__ import annotations

import re
from collections.abc import Collection

from django.db import OperationalError

# The DAG rows a tick reads for the DAGs the wheel handed out (in_bulk, not the batch's
# SELECT ... FOR UPDATE of the same rows on MariaDB), on any vendor.
DAG_ROWS_READ = r'FROM [`"]ingestion_dag[`"] WHERE [`"]ingestion_dag[`"]\.[`"]id[`"] IN (?!.*FOR UPDATE)'
RUN_INSERT = r'INSERT (OR IGNORE |IGNORE )?INTO [`"]ingestion_dagrun[`"]'


class QueryFaults:
    def __init__(self, failing: Collection[int], *, match: str | None = None):
        self.failing = set(failing)
        self.pattern = re.compile(match) if match else None
        self.seen = 0
        self.raised = 0

    def __call__(self, execute, sql, params, many, context):
        if self.pattern is None or self.pattern.search(sql):
            number, self.seen = self.seen, self.seen + 1
            if number in self.failing:
                self.raised += 1
                raise OperationalError(f"injected fault: lost connection to the server during query #{number}")
        return execute(sql, params, many, context)
