"""A plain multi-row INSERT for the scheduler's hot path.

`QuerySet.bulk_create` prepares every value of every object through the field machinery
(pre_save, get_db_prep_save, one placeholder expression per value) and flattens them into
one parameter list: at a burst of 4,500 due DAGs that was about 60% of the time spent
creating runs, while the database's own work was about 10%. Here each column's values are
prepared through the same `get_db_prep_save` but once per distinct value (most columns
of a batch repeat a handful of values: a state, a pool, `now`). SQLite gets the rows
through the driver's `executemany`, which loops in C; MySQL/MariaDB gets multi-row
INSERTs built from values escaped once each (see _insert_mysql).

Use it only for models whose fields need no `pre_save` (no auto_now, no upload fields):
the caller passes every column's final value on the objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model
from django.db.models.constants import OnConflict


def insert_rows(
    model: type[Model], objs: Iterable[Model], field_names: Sequence[str], *, ignore_conflicts: bool = False
) -> None:
    """INSERT the objects' `field_names` columns (attribute values as they are)."""
    objs = list(objs)
    if not objs:
        return
    connection = connections[router.db_for_write(model)]
    fields: list[Field] = [model._meta.get_field(name) for name in field_names]  # type: ignore[misc]  # concrete columns only
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    quote = connection.ops.quote_name
    sql = (
        f"{connection.ops.insert_statement(on_conflict=on_conflict)} {quote(model._meta.db_table)} "
        f"({', '.join(quote(str(f.column)) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))})"
    )
    suffix = connection.ops.on_conflict_suffix_sql(fields, on_conflict, None, None)
    if suffix:
        sql = f"{sql} {suffix}"
    columns = [list(map(attrgetter(f.attname), objs)) for f in fields]
    if (
        connection.vendor == "mysql"
        and not suffix
        and _insert_mysql(connection, sql[: sql.index(" VALUES ")], fields, columns)
    ):
        return
    # Column by column with map(): the per-value work runs in C; Python prepares only
    # each column's distinct values.
    prepared = [_prepare_column(f, values, connection) for f, values in zip(fields, columns, strict=False)]
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(*prepared, strict=False)))


# Statements well under MariaDB's and MySQL's default max_allowed_packet (16 MB, 64 MB).
MYSQL_STATEMENT_BYTES = 1 << 20  # counted in characters: 4 MB at most in utf8mb4


def _insert_mysql(connection, head: str, fields, columns) -> bool:
    """mysqlclient's executemany escapes every value of every row in Python (about half of
    the time of a burst's task-instance insert on MariaDB). Here each column's distinct
    values are escaped once, by the driver's own `literal`, and the rows are joined into
    multi-row INSERTs. The SQL stays text, as every execute wrapper expects; False when a
    value does not escape to UTF-8 text (binary data): the caller uses executemany."""
    connection.ensure_connection()
    literal = connection.connection.literal
    try:
        escaped = [
            _prepare_column(f, values, connection, finish=lambda v: literal(v).decode())
            for f, values in zip(fields, columns, strict=False)
        ]
    except UnicodeDecodeError:
        return False
    prefix = f"{head} VALUES "
    rows = ["(" + ",".join(row) + ")" for row in zip(*escaped, strict=False)]
    with connection.cursor() as cursor:
        start, size = 0, len(prefix)
        for end, row in enumerate(rows):
            if size + len(row) + 1 > MYSQL_STATEMENT_BYTES and end > start:
                cursor.execute(prefix + ",".join(rows[start:end]))
                start, size = end, len(prefix)
            size += len(row) + 1  # characters, not bytes: names in any script may take up to 4 bytes
        cursor.execute(prefix + ",".join(rows[start:]))
    return True


def _prepare_column(field, values: list, connection, finish=None) -> list:
    """`field.get_db_prep_save` of each value (then `finish`), computed once per distinct value."""
    if set(map(type, values)) & {dict, list}:
        # A JSON column (task params, upstream ids): keyed by repr, which tells 1, 1.0 and
        # True apart, so equal reprs of JSON data are equal JSON documents.
        keys: list[Any] = list(map(repr, values))
    elif len(set(map(type, values)) & _NUMBERS) > 1:
        # True == 1 == 1.0 would share one prepared value: key by the type too.
        keys = list(zip(map(type, values), values, strict=False))
    else:
        keys = values
    distinct = dict(zip(keys, values, strict=False))  # equal keys: equal values, any one of them will do
    prepared = {key: field.get_db_prep_save(value, connection) for key, value in distinct.items()}
    if finish is not None:
        prepared = {key: finish(value) for key, value in prepared.items()}
    return list(map(prepared.__getitem__, keys))


_NUMBERS = {bool, int, float, Decimal}
