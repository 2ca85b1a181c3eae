"""Where `seed_demo` writes its rows: COPY on PostgreSQL, `bulk_create` elsewhere.

A row set is a list of dicts, one per ticket: {"ticket": field values by attname,
"messages": tuples in MESSAGE_COLUMNS order, "events": tuples in EVENT_COLUMNS order}.
(A module of the commands package whose name starts with "_" is not a command.)
"""

import json

from django.db import connection
from django.db.models import Max

from tickets.models import Ticket, TicketEvent, TicketInvoiceNumber, TicketMessage

JSON_COLUMNS = {"tags", "invoices"}
MESSAGE_COLUMNS = ["ticket_id", "author_kind", "author_id", "text", "created_at"]
EVENT_COLUMNS = ["ticket_id", "actor_id", "action", "from_value", "to_value", "note", "at"]


class CopyWriter:
    """PostgreSQL: ids from the sequence, rows through COPY."""

    def ids(self, count: int) -> list[int]:
        table = Ticket._meta.db_table
        with connection.cursor() as cursor:
            # Demo rows: a crash may lose the last batches, which is cheaper than a flush each.
            cursor.execute("SET LOCAL synchronous_commit TO off")
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, rows: list[dict]) -> tuple[int, int, int]:
        fields = Ticket._meta.concrete_fields

        def ticket_row(t):
            return [json.dumps(t[f.attname], ensure_ascii=False) if f.attname in JSON_COLUMNS
                    else t[f.attname] for f in fields]  # fmt: skip

        with connection.cursor() as cursor:
            columns = [f.column for f in fields]
            self._copy(cursor, Ticket, columns, map(ticket_row, (
                r["ticket"] for r in rows)))  # fmt: skip
            refs = self._copy(cursor, TicketInvoiceNumber, ["ticket_id", "number"], (
                (r["ticket"]["id"], n) for r in rows
                for n in dict.fromkeys(r["ticket"]["invoice_numbers"].split())
            ))  # fmt: skip
            messages = self._copy(
                cursor, TicketMessage, [*MESSAGE_COLUMNS, "delivery_ref"],
                ((*m, "") for r in rows for m in r["messages"]),
            )  # fmt: skip
            events = self._copy(cursor, TicketEvent, EVENT_COLUMNS, (
                (*e[:3], _j(e[3]), _j(e[4]), *e[5:]) for r in rows for e in r["events"]
            ))  # fmt: skip
        return messages, events, refs

    @staticmethod
    def _copy(cursor, model, columns, rows) -> int:
        count = 0
        sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count


def _j(value):
    return None if value is None else json.dumps(value, ensure_ascii=False)


class OrmWriter:
    """Any other database: bulk_create (ids handed out by this process: one writer at a time)."""

    def ids(self, count: int) -> list[int]:
        start = (Ticket.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        return list(range(start, start + count))

    def write(self, rows: list[dict]) -> tuple[int, int, int]:
        Ticket.objects.bulk_create([Ticket(**r["ticket"]) for r in rows])
        refs = [
            TicketInvoiceNumber(ticket_id=r["ticket"]["id"], number=n)
            for r in rows
            for n in dict.fromkeys(r["ticket"]["invoice_numbers"].split())
        ]
        TicketInvoiceNumber.objects.bulk_create(refs, batch_size=2000)
        msgs = [TicketMessage(**dict(zip(MESSAGE_COLUMNS, m, strict=True)))
                for r in rows for m in r["messages"]]  # fmt: skip
        TicketMessage.objects.bulk_create(msgs, batch_size=2000)
        events = [TicketEvent(**dict(zip(EVENT_COLUMNS, e, strict=True)))
                  for r in rows for e in r["events"]]  # fmt: skip
        TicketEvent.objects.bulk_create(events, batch_size=2000)
        return len(msgs), len(events), len(refs)
