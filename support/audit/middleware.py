"""Name the user of a request on every audit entry it causes."""

from auditlog.middleware import AuditlogMiddleware
from django.contrib.auth import get_user_model
from django.utils.functional import SimpleLazyObject


class AuditActorMiddleware(AuditlogMiddleware):
    """django-auditlog's middleware, with the actor read when an entry is written.

    The stock middleware reads `request.user` when the request comes in; the API's
    token authentication (DRF) sets the user later, in the view. Read lazily, the actor
    is whoever the request turned out to be.
    """

    @staticmethod
    def _get_actor(request):
        def actor():
            user = getattr(request, "user", None)
            if isinstance(user, get_user_model()) and user.is_authenticated:
                return user
            return None

        return SimpleLazyObject(actor)
