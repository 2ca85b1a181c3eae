"""Verification backends behind one interface, tried in the order settings give.

`INVOICE_VERIFY_BACKENDS` names them ("ledger", "tencentcloud", or a dotted path
to a VerificationBackend subclass). A "not found" or an upstream error lets the
next backend try; the first decisive answer wins.
"""

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from bot.invoices.models import Result
from bot.invoices.verification.base import VerificationBackend, VerifyRequest, VerifyResult

logger = logging.getLogger(__name__)

__all__ = [
    "ChainResult",
    "VerificationBackend",
    "VerifyRequest",
    "VerifyResult",
    "backends_configured",
    "verification_is_fast",
    "verify_chain",
]

BACKEND_PATHS = {
    "ledger": "bot.invoices.verification.ledger.LedgerBackend",
    "tencentcloud": "bot.invoices.verification.tencentcloud.TencentCloudBackend",
}

# Results after which the next backend is asked.
_INCONCLUSIVE = frozenset({Result.NOT_FOUND, Result.UPSTREAM_ERROR})


@dataclass(frozen=True)
class ChainResult:
    final: VerifyResult
    attempts: tuple[VerifyResult, ...]
    latency_ms: int

    @property
    def issued_not_uploaded(self) -> bool:
        return any(a.details.get("issued_not_uploaded") for a in self.attempts)


def backends_configured() -> list[VerificationBackend]:
    """Instantiate the configured backends, in order."""
    return [
        import_string(BACKEND_PATHS.get(name, name))()
        for name in settings.INVOICE_VERIFY_BACKENDS
        if name
    ]


def verification_is_fast() -> bool:
    """Tell whether every configured backend is local (answers within the passive reply)."""
    return all(backend.is_local for backend in backends_configured())


def _pick(attempts: list[VerifyResult]) -> VerifyResult:
    """The decisive answer; else "issued, not uploaded"; else an upstream error; else not found."""
    for attempt in attempts:
        if attempt.result not in _INCONCLUSIVE:
            return attempt
    for attempt in attempts:
        if attempt.details.get("issued_not_uploaded"):
            return attempt
    for attempt in attempts:
        if attempt.result is Result.UPSTREAM_ERROR:
            return attempt
    return attempts[0]


def verify_chain(request: VerifyRequest) -> ChainResult:
    """Ask each backend in turn until one gives a decisive answer."""
    started = time.monotonic()
    attempts: list[VerifyResult] = []
    for backend in backends_configured():
        try:
            attempt = backend.verify(request)
        except Exception as exc:  # a broken backend must not break the conversation
            logger.exception("verification backend %s failed", backend.name)
            attempt = VerifyResult(Result.UPSTREAM_ERROR, backend.name, error=repr(exc)[:255])
        attempts.append(attempt)
        if attempt.result not in _INCONCLUSIVE:
            break
    if not attempts:
        attempts.append(VerifyResult(Result.UPSTREAM_ERROR, "", error="no backend configured"))
    latency_ms = round((time.monotonic() - started) * 1000)
    return ChainResult(_pick(attempts), tuple(attempts), latency_ms)
