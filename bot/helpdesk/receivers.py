"""Signal receivers of the help desk: each calls one service and nothing else."""

from django.dispatch import receiver

from bot.conversations.models import Follower
from bot.helpdesk.escalation import EscalationReason, escalate_follower, invoice_escalate
from bot.helpdesk.invoices import watch_snapshot
from bot.invoices.signals import invoice_check_needs_person, invoice_watch_expired
from bot.nlu.vocabulary import Intent


@receiver(invoice_check_needs_person, dispatch_uid="helpdesk.invoice_check_needs_person")
def on_invoice_check_needs_person(sender, *, follower_id, fields, outcome, **kwargs) -> None:
    invoice_escalate(
        follower=Follower.objects.get(pk=follower_id), message=None, fields=fields, outcome=outcome
    )


@receiver(invoice_watch_expired, dispatch_uid="helpdesk.invoice_watch_expired")
def on_invoice_watch_expired(sender, *, watch, **kwargs) -> None:
    escalate_follower(
        follower=watch.follower,
        reason=EscalationReason.WATCH_EXPIRED,
        category=Intent.SYNC_DELAY,
        invoices=[watch_snapshot(watch=watch)],
    )
