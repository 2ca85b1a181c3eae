"""Serve WeChat's webhook ahead of the middleware it does not use.

`/wechat/` is called only by WeChat's servers (and the simulator), is authenticated by
its signature, and has no session, user, CSRF token, flash messages, language or
frames. Django would still run every middleware for each delivery, and measured under
load that costs more than the view's own protocol work (bench/webhook `--ladder`).
Placed right after SecurityMiddleware, this hands requests for the webhook's exact
path straight to the view; every other path goes down the chain unchanged.
The Host header is still checked against ALLOWED_HOSTS, as CommonMiddleware would.
"""

from django.urls import reverse

from bot.channels.wechat import views


class WebhookShortcutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._path: str | None = None

    def __call__(self, request):
        if self._path is None:
            self._path = reverse("wechat:webhook")  # URLconf loaded on first request
        if request.path_info != self._path:
            return self.get_response(request)
        request.get_host()  # DisallowedHost → 400, as on every other path
        return views.webhook(request)
