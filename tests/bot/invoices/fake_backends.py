"""A scripted verification backend, configured by dotted path in INVOICE_VERIFY_BACKENDS."""

from bot.invoices.verification import VerificationBackend, VerifyResult

FIXED_PATH = "tests.bot.invoices.fake_backends.FixedBackend"


class FixedBackend(VerificationBackend):
    """Answers the next result of `answers`; records the requests it got."""

    name = "fixed"
    answers: list = []
    requests: list = []

    def verify(self, request):
        FixedBackend.requests.append(request)
        answer = FixedBackend.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return VerifyResult(answer, self.name, {"from": "fixed"})
