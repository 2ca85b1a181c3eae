"""What the invoice app tells the layers above it (they connect; it never imports them).

The way `django.contrib.auth` sends `user_logged_in`: `bot.helpdesk` receives these
and opens tickets.
"""

from django.dispatch import Signal

# A check run outside a conversation turn (a queued check whose answer was pushed)
# ended in a diagnosis a person must act on. Sent with follower_id, fields (the
# InvoiceFields checked) and outcome (bot.invoices.services.CheckOutcome).
invoice_check_needs_person = Signal()

# A watched invoice never appeared in the system within its watch. Sent with watch
# (the InvoiceWatch, already ended).
invoice_watch_expired = Signal()
