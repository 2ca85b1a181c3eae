"""`manage.py selfcheck`: what works in this installation, without changing anything.

Checks, in order: the webhook (a signed URL verification through the real URL, a forged
signature refused, the AES envelope when configured), the database (a write and a read,
rolled back), the cache, the broker (a message through a private queue) and the
workers, each configured verification backend (a probe invoice nobody issued), and a
dry-run notice (the channel and template every notice kind would use; the WeChat token
when the account is configured). Exit status 1 when anything fails.
"""

from __future__ import annotations

import datetime
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from bot.channels.wechat.client import wechat_client, wechat_configured
from bot.channels.wechat.crypto import MessageCipher, signature_of
from bot.invoices.models import Result
from bot.invoices.verification import VerifyRequest, backends_configured
from bot.notices import channels
from bot.notices.models import Notice, NoticeKind
from support.selfcheck import Check, check_run, support_checks

PROBE_NUMBER = "00000000"  # no ledger has it; a real platform answers "not found"


def _get(base_url: str | None, path: str) -> tuple[int, str]:
    """GET a path of this installation: over HTTP when a base URL is given, else in process."""
    if base_url:
        url = base_url.rstrip("/") + path
        if not url.startswith(("http://", "https://")):
            raise ValueError("--base-url must start with http:// or https://")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8", "replace")
    host = next((h for h in settings.ALLOWED_HOSTS if h and "*" not in h), "localhost")
    response = Client(HTTP_HOST=host.lstrip(".")).get(path, secure=not settings.DEBUG)
    return response.status_code, response.content.decode("utf-8", "replace")


def webhook_round_trip(base_url: str | None):
    def probe() -> str:
        if not settings.WECHAT_TOKEN:
            raise RuntimeError("WECHAT_TOKEN is not set: WeChat's requests would all be refused")
        path = reverse("wechat:webhook")
        ts, nonce, echo = str(int(time.time())), secrets.token_hex(5), secrets.token_hex(8)
        good = urllib.parse.urlencode(
            {
                "signature": signature_of(settings.WECHAT_TOKEN, ts, nonce),
                "timestamp": ts,
                "nonce": nonce,
                "echostr": echo,
            }
        )
        status, body = _get(base_url, f"{path}?{good}")
        if status != 200 or body != echo:
            raise RuntimeError(f"a correctly signed verification got {status} {body[:80]!r}")
        forged = good.replace("signature=", "signature=0", 1)
        status, _ = _get(base_url, f"{path}?{forged}")
        if status != 403:
            raise RuntimeError(f"a forged signature got {status}, not 403")
        mode = "plaintext only"
        if settings.WECHAT_ENCODING_AES_KEY:
            cipher = MessageCipher(
                encoding_aes_key=settings.WECHAT_ENCODING_AES_KEY, app_id=settings.WECHAT_APP_ID
            )
            if cipher.decrypt(cipher.encrypt("<xml>selfcheck</xml>")) != "<xml>selfcheck</xml>":
                raise RuntimeError("the AES envelope does not round-trip")
            mode = "AES envelope ok"
        where = f"{base_url.rstrip('/')}{path}" if base_url else f"{path} (in process)"
        return f"{where}: signed verification answered, forged refused; {mode}"

    return probe


def verification_probe(backend):
    def probe() -> str | Check:
        request = VerifyRequest(
            invoice_code="",
            invoice_number=PROBE_NUMBER,
            issue_date=timezone.localdate() - datetime.timedelta(days=1),
            kind="",
        )
        started = time.monotonic()
        result = backend.verify(request)
        ms = (time.monotonic() - started) * 1000
        if result.result is Result.UPSTREAM_ERROR:
            raise RuntimeError(f"upstream error: {result.error or 'no detail'}")
        return f"probe invoice answered {result.result.value} in {ms:.0f} ms"

    return probe


def notice_dry_run() -> str | Check:
    """Which channel and template each notice kind would use; nothing is sent or stored."""
    templates = channels.templates_by_kind()
    now = timezone.now()
    missing = []
    for kind in NoticeKind:
        choice = channels.template_for(kind, templates)
        if choice is None:
            missing.append(kind.value)
            continue
        notice = Notice(kind=kind, text="自检通知（不会发送）", idempotency_key="selfcheck")
        if choice.is_subscribe:
            channels.subscribe_data(notice, choice, now=now)
        else:
            channels.template_data(notice, choice, now=now)
    if wechat_configured():
        wechat_client().access_token()  # fetched (or read from the cache) under the lock
        sending = "WeChat access token ok"
    else:
        sending = "embedded mode: notices are simulated"
    detail = f"{sending}; templates render for {len(NoticeKind) - len(missing)} kinds"
    if missing:
        return Check(
            "notice (dry run)",
            True,
            f"{detail}; no template for {', '.join(missing)}: outside the 48-hour window "
            "these fail (admin → 通知模板, or NOTICES_DEFAULT_TEMPLATE_ID)",
            warning=True,
        )
    return detail


class Command(BaseCommand):
    help = "Check, without changing anything, that every part of this installation works."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            help="check the webhook through this URL (e.g. https://support.example.com); "
            "default: through the URL routing in this process",
        )

    def handle(self, *args, base_url=None, **options):
        plan = [("webhook", webhook_round_trip(base_url)), *support_checks()]
        try:
            backends = backends_configured()
        except Exception as exc:
            backends = []
            plan.append(("verification", _raiser(exc)))
        plan += [(f"verification: {b.name}", verification_probe(b)) for b in backends]
        plan.append(("notice (dry run)", notice_dry_run))
        results = []
        for name, probe in plan:
            check = check_run(name, probe)
            results.append(check)
            style = {"ok": self.style.SUCCESS, "WARN": self.style.WARNING}.get(
                check.mark, self.style.ERROR
            )
            self.stdout.write(f"{style(f'{check.mark:>4}')}  {check.name}: {check.detail}")
        failed = [c.name for c in results if not c.ok]
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}"
            )
        self.stdout.write(self.style.SUCCESS(f"all {len(results)} checks passed"))


def _raiser(exc: Exception):
    def probe():
        raise exc

    return probe
