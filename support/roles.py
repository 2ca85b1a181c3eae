"""Who may do what: the desk's two roles, as Django groups, and the checks that read them.

- 客服 (agents) work the tickets of their queues, with canned replies and invoice cards;
- 主管 (supervisors) see everything of the desk: all queues, reports, the knowledge
  base, broadcasts, the ledger.

A role is membership of the group of that name (created by `support/migrations`);
superusers hold every role, and an agent profile marked 主管 (`AgentProfile.is_supervisor`)
counts as the supervisor role too. Views and APIs ask these functions, never the
groups themselves, so the rules live here once.
"""

from enum import StrEnum

from rest_framework.permissions import BasePermission


class Role(StrEnum):
    AGENT = "客服"
    SUPERVISOR = "主管"


def _groups(user) -> frozenset[str]:
    cached = getattr(user, "_role_groups", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_groups = cached  # once per request: the user object is the request's
    return cached


def user_has_role(user, role: Role) -> bool:
    """Whether an active staff user holds the role (superusers hold every role)."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    if user.is_superuser:
        return True
    if role in _groups(user):
        return True
    profile = getattr(user, "agent_profile", None) if role == Role.SUPERVISOR else None
    return bool(profile is not None and profile.is_supervisor)


def user_is_supervisor(user) -> bool:
    return user_has_role(user, Role.SUPERVISOR)


class IsSupervisor(BasePermission):
    """DRF: supervisors only (reports, broadcasts, ledger writes, the knowledge base)."""

    message = "仅主管可用"

    def has_permission(self, request, view) -> bool:
        return user_is_supervisor(request.user)


def user_is_agent(user) -> bool:
    """Whether a user works tickets: the 客服 role, an agent profile, or a supervisor."""
    if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
        return False
    if user_has_role(user, Role.AGENT) or user_is_supervisor(user):
        return True
    return getattr(user, "agent_profile", None) is not None


class IsAgent(BasePermission):
    """DRF: agents and supervisors (invoice checks, followers through their tickets)."""

    message = "仅客服可用"

    def has_permission(self, request, view) -> bool:
        return user_is_agent(request.user)


class IsAgentReadSupervisorWrite(BasePermission):
    """DRF: agents read (GET/HEAD/OPTIONS), supervisors also write (the ledger)."""

    message = "仅主管可修改"

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return user_is_agent(request.user)
        return user_is_supervisor(request.user)


class IsStaff(BasePermission):
    """DRF: any active staff user (the API's schema and docs)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class SupervisorOnlyAdmin:
    """ModelAdmin mixin: the page exists for supervisors only, whatever model perms say.

    A supervisor still needs the model permission (granted to the 主管 group); anyone else
    is refused even when a permission was granted by hand (docs/security.md).
    """

    def has_module_permission(self, request) -> bool:
        return user_is_supervisor(request.user) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args) -> bool:
        return user_is_supervisor(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user) and super().has_delete_permission(request, obj)


class SupervisorWritesAdmin:
    """ModelAdmin mixin: agents may look, only supervisors add, change or delete (the ledger)."""

    def has_add_permission(self, request, *args) -> bool:
        return user_is_supervisor(request.user) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return user_is_supervisor(request.user) and super().has_delete_permission(request, obj)
