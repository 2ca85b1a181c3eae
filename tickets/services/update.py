"""An agent's edit of a ticket: the one service behind the admin page's form and the API's PATCH."""

from enum import Enum

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from tickets.models import Ticket
from tickets.services.assignment import ticket_assign
from tickets.services.errors import TicketError, TicketErrorCode
from tickets.services.workflow import ticket_priority_set, ticket_status_change, ticket_tags_set


class Unchanged(Enum):
    """The default of a field the caller leaves alone (None means "nobody" for the assignee)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


def _assignee_find(
    *, username: str | Unchanged | None, user_id: int | str | Unchanged | None
) -> AbstractBaseUser | Unchanged | None:
    """The user an assignee field names; empty means unassign, an unknown one is refused."""
    if username is not UNCHANGED and user_id is not UNCHANGED:
        raise ValueError("name the assignee by username or by id, not both")
    users = get_user_model().objects
    if username is not UNCHANGED:
        if not username:
            return None
        user = users.filter(username=username).first()
        value = username
    elif user_id is not UNCHANGED:
        if user_id in (None, ""):
            return None
        text = str(user_id).strip()
        # An id from a form is ASCII digits; anything else never names anyone.
        if not (text.isascii() and text.isdigit()) or len(text) > 18:
            raise TicketError(
                TicketErrorCode.INVALID_ASSIGNEE, f"处理人“{user_id}”无效", field="assignee"
            )
        user = users.filter(pk=int(text)).first()
        value = text
    else:
        return UNCHANGED
    if user is None:
        raise TicketError(
            TicketErrorCode.UNKNOWN_ASSIGNEE, f"处理人“{value}”不存在", field="assignee"
        )
    return user


@transaction.atomic
def ticket_update(
    *,
    ticket: Ticket,
    actor: AbstractBaseUser,
    status: str | None = None,
    priority: str | None = None,
    tags: list[str] | None = None,
    assignee_username: str | Unchanged | None = UNCHANGED,
    assignee_id: int | str | Unchanged | None = UNCHANGED,
    note: str = "",
) -> Ticket:
    """Apply an agent's changes all or nothing: assignee, priority, tags, then status.

    Name the assignee by username (the API) or by user id (the admin form); an empty
    value unassigns, an unknown or malformed one is refused (`UNKNOWN_ASSIGNEE`,
    `INVALID_ASSIGNEE`) before anything changes. `None` leaves a field as it is;
    `note` goes with the status change into the audit trail.
    """
    assignee = _assignee_find(username=assignee_username, user_id=assignee_id)
    if assignee is not UNCHANGED:
        ticket = ticket_assign(ticket=ticket, assignee=assignee, actor=actor)
    if priority:
        ticket = ticket_priority_set(ticket=ticket, priority=priority, actor=actor)
    if tags is not None:
        ticket = ticket_tags_set(ticket=ticket, tags=tags, actor=actor)
    if status:
        ticket = ticket_status_change(ticket=ticket, status=status, actor=actor, note=note)
    return ticket
