"""INSERT and UPSERT statements built from a model's `_meta`: the one row builder.

The webhook stores a follower and two messages per delivery. The ORM costs a
statement per row and more Python than the statement itself; these builders
give the same rows — every field not given takes its model default, exactly as
`Model.objects.create` would, so a field added later with a default needs no
change here — as one statement each, or composed into one statement (a
data-modifying CTE) by `bot.conversations.services`.

PostgreSQL and SQLite (3.35+) both speak `INSERT … ON CONFLICT … RETURNING`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone

# Written out, not bound: fewer parameters keep psycopg's parsed-query cache in play (it
# skips statements with more than 50) and these need no quoting.
_LITERALS = {None: "NULL", "": "''", True: "TRUE", False: "FALSE"}
_NOW, _CALLED = object(), object()  # defaults computed for each row: the time, a callable


@functools.cache
def _plan(model: type[Model], vendor: str) -> tuple[tuple[Field, str, object], ...]:
    """Per concrete non-pk field: the field, its quoted column, its prepared default.

    Built once per model and database vendor: a row then costs one preparation per
    given value only.
    """
    quote = connection.ops.quote_name
    plan = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            default = _NOW
        elif field.has_default() and callable(field.default):
            default = _CALLED
        else:
            default = field.get_db_prep_save(field.get_default(), connection)
        plan.append((field, quote(field.column), default))
    return tuple(plan)


@dataclass(frozen=True)
class Row:
    """One row's columns and value expressions, and the parameters they bind."""

    table: str
    columns: tuple[str, ...]
    values: tuple[str, ...]
    params: tuple

    def values_clause(self) -> str:
        return f"VALUES ({', '.join(self.values)})"

    def select_clause(self, source: str) -> str:
        # Value expressions are placeholders, fixed literals or the caller's column refs.
        return f"SELECT {', '.join(self.values)} FROM {source}"  # noqa: S608


def row_build(model: type[Model], given: dict, *, from_sql: dict[str, str] | None = None) -> Row:
    """The row `model.objects.create(**given)` would insert (pk aside), as SQL pieces.

    `given`: attnames (e.g. `follower_id`) and values; `from_sql`: attnames whose value
    is an SQL expression (a CTE's column), for composed statements.
    """
    from_sql = from_sql or {}
    columns, values, params = [], [], []
    now = None
    for field, column, default in _plan(model, connection.vendor):
        columns.append(column)
        if field.attname in from_sql:
            values.append(from_sql[field.attname])
            continue
        if field.attname in given:
            value = field.get_db_prep_save(given[field.attname], connection)
        elif default is _NOW:
            now = now or timezone.now()
            value = field.get_db_prep_save(now, connection)
        elif default is _CALLED:
            value = field.get_db_prep_save(field.get_default(), connection)
        else:
            value = default
        if value is None or value == "" or isinstance(value, bool):
            values.append(_LITERALS[value])
        else:
            values.append("%s")  # an untyped literal: PostgreSQL reads it as the column's type
            params.append(value)
    table = connection.ops.quote_name(model._meta.db_table)
    return Row(table, tuple(columns), tuple(values), tuple(params))


def column(model: type[Model], name: str) -> str:
    """The quoted column of a field (by name or attname; `pk` for the primary key)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return connection.ops.quote_name(field.column)


def insert_sql(
    model: type[Model],
    row: Row,
    *,
    source: str | None = None,
    conflict: tuple[str, ...] = (),
    update: tuple[str, ...] = (),
    update_where: str = "",
    returning: tuple[str, ...] = ("pk",),
) -> str:
    """`INSERT INTO … VALUES … | SELECT … FROM source [ON CONFLICT …] RETURNING …`.

    `conflict`: the unique fields; with `update`, the fields set from EXCLUDED (an
    upsert, optionally only `update_where`), else DO NOTHING. Identifiers come from
    `_meta`, quoted; values are parameters or the fixed literals above.
    """
    body = row.values_clause() if source is None else row.select_clause(source)
    sql = f"INSERT INTO {row.table} ({', '.join(row.columns)}) {body}"
    if conflict:
        target = ", ".join(column(model, name) for name in conflict)
        if update:
            sets = ", ".join(f"{column(model, n)} = EXCLUDED.{column(model, n)}" for n in update)
            where = f" WHERE {update_where}" if update_where else ""
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {sets}{where}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(column(model, name) for name in returning)
    return sql
