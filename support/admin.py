"""Admin of the support app: the audit trail (support/audit/admin.py)."""

from support.audit import admin as _audit_admin  # noqa: F401
