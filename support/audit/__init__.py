"""The trail of every change made by people: who, when, what (field by field).

django-auditlog records create/update/delete of the models named in
`AUDITLOG_INCLUDE_TRACKING_MODELS` (support/settings.py: registered by settings, so no
app imports it); `AuditActorMiddleware` names the user, for admin and API (token) alike.
Ticket events (`tickets.TicketEvent`) and verification records
(`invoices.VerificationRecord`) keep their own tables and join the log entries on one
read-only admin page (`trail.py`, `admin.py`), for supervisors only.
"""
