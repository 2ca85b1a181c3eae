"""Tencent Cloud OCR `VatInvoiceVerifyNew` (the `tencentcloud` extra).

The SDK signs the request (TC3-HMAC-SHA256) and posts it to the configured
endpoint. Every answer, error code and network failure is normalised to the
result vocabulary. Unlike the old VatInvoiceVerify there is no `Additional`
parameter: the check code and the amount go in `CheckCode` and `Amount`.
"""

import logging
from urllib.parse import urlsplit

from django.conf import settings

from bot.invoices.decoding import extra_field_for
from bot.invoices.kinds import ExtraField, Kind
from bot.invoices.models import Result
from bot.invoices.verification.base import VerificationBackend, VerifyRequest, VerifyResult
from support.deadline import DeadlineExceeded, call_within

logger = logging.getLogger(__name__)

# InvoiceKind codes of VatInvoiceVerifyNew (08/10 include the 数电 kinds).
INVOICE_KIND_CODES = {
    Kind.SPECIAL: "01",
    Kind.FREIGHT: "02",
    Kind.MOTOR_VEHICLE: "03",
    Kind.ORDINARY: "04",
    Kind.ELECTRONIC_SPECIAL: "08",
    Kind.DIGITAL_SPECIAL: "08",
    Kind.ELECTRONIC_ORDINARY: "10",
    Kind.DIGITAL_ORDINARY: "10",
    Kind.ROLL: "11",
    Kind.TOLL: "14",
    Kind.USED_CAR: "15",
}

# IsAbandoned: Y voided, N normal, H red, HP partly red, HF fully red.
_ABANDONED = {
    "N": (Result.VALID, ""),
    "": (Result.VALID, ""),
    "Y": (Result.VOIDED, ""),
    "H": (Result.RED_FLUSHED, "full"),
    "HF": (Result.RED_FLUSHED, "full"),
    "HP": (Result.RED_FLUSHED, "partial"),
}

_ERROR_RESULTS = {
    "ResourceNotFound.NoInvoice": Result.NOT_FOUND,
    "FailedOperation.InvoiceMismatch": Result.MISMATCH,
    "FailedOperation.CountLimitError": Result.TOO_MANY_CHECKS,
    "ResourceNotFound.NotSupportCurrentInvoiceQuery": Result.ISSUED_TODAY,
}


def error_result(code: str) -> Result:
    """Map a Tencent Cloud error code to a normalised result."""
    if code in _ERROR_RESULTS:
        return _ERROR_RESULTS[code]
    if code.startswith(("InvalidParameterValue", "InvalidParameter.")) or code == (
        "InvalidParameter"
    ):
        return Result.BAD_INPUT
    # TaxNetworkError, InternalError, UnKnowError, auth, billing, network: nobody knows.
    return Result.UPSTREAM_ERROR


def request_params(request: VerifyRequest) -> dict:
    """Build the VatInvoiceVerifyNew parameters for one invoice."""
    params: dict = {
        "InvoiceNo": request.invoice_number,
        "InvoiceDate": request.issue_date.isoformat(),
        "InvoiceCode": request.invoice_code,
    }
    kind_code = INVOICE_KIND_CODES.get(Kind(request.kind)) if request.kind else None
    if kind_code:
        params["InvoiceKind"] = kind_code
    if request.check_code:
        params["CheckCode"] = request.check_code[-6:]
    if extra_field_for(request.kind) is not ExtraField.CHECK_CODE and request.amount is not None:
        params["Amount"] = f"{request.amount:.2f}"
    return params


def _details(invoice: dict) -> dict:
    return {
        "seller_name": invoice.get("SellerName") or "",
        "seller_tax_id": invoice.get("SellerTaxCode") or "",
        "buyer_name": invoice.get("BuyerName") or "",
        "amount": invoice.get("AmountWithoutTax") or "",
        "total": invoice.get("AmountWithTax") or "",
        "type": invoice.get("Type") or "",
    }


class TencentCloudBackend(VerificationBackend):
    name = "tencentcloud"
    is_local = False

    def _client(self):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.ocr.v20181119 import ocr_client

        url = urlsplit(settings.INVOICE_TENCENTCLOUD_ENDPOINT)
        http = HttpProfile(
            protocol=url.scheme or "https",
            endpoint=url.netloc or url.path,
            reqTimeout=settings.INVOICE_VERIFY_TIMEOUT,
        )
        cred = credential.Credential(
            settings.TENCENTCLOUD_SECRET_ID, settings.TENCENTCLOUD_SECRET_KEY
        )
        return ocr_client.OcrClient(
            cred, settings.INVOICE_TENCENTCLOUD_REGION, ClientProfile(httpProfile=http)
        )

    def verify(self, request: VerifyRequest) -> VerifyResult:
        try:
            from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
                TencentCloudSDKException,
            )
            from tencentcloud.ocr.v20181119 import models
        except ImportError:
            return VerifyResult(
                Result.UPSTREAM_ERROR, self.name, error="tencentcloud SDK not installed"
            )
        if not (settings.TENCENTCLOUD_SECRET_ID and settings.TENCENTCLOUD_SECRET_KEY):
            return VerifyResult(Result.UPSTREAM_ERROR, self.name, error="credentials not set")
        sdk_request = models.VatInvoiceVerifyNewRequest()
        sdk_request._deserialize(request_params(request))
        try:
            # reqTimeout is per read: the SDK's whole call gets one total deadline too.
            response = call_within(
                settings.INVOICE_VERIFY_TIMEOUT + 0.5,
                self._client().VatInvoiceVerifyNew,
                sdk_request,
            )
        except DeadlineExceeded as exc:
            logger.warning("tencentcloud verification timed out: %s", exc)
            return VerifyResult(Result.UPSTREAM_ERROR, self.name, error="timeout")
        except TencentCloudSDKException as exc:
            code = exc.get_code() or "ClientError"
            result = error_result(code)
            if result is Result.UPSTREAM_ERROR:
                logger.warning("tencentcloud verification failed: %s %s", code, exc.get_message())
            return VerifyResult(
                result,
                self.name,
                {"request_id": exc.get_request_id() or ""},
                error=f"{code}: {exc.get_message()}"[:255],
            )
        except Exception as exc:  # the SDK lets some transport errors through unwrapped
            logger.warning("tencentcloud verification failed: %r", exc)
            return VerifyResult(Result.UPSTREAM_ERROR, self.name, error=repr(exc)[:255])
        invoice = _serialised(response.Invoice)
        result, red_flush = _ABANDONED.get(invoice.get("IsAbandoned") or "", (Result.VALID, ""))
        details = {**_details(invoice), "request_id": response.RequestId or ""}
        if red_flush:
            details["red_flush"] = red_flush
        return VerifyResult(result, self.name, details)


def _serialised(model) -> dict:
    if model is None:
        return {}
    return {key.lstrip("_"): value for key, value in vars(model).items()}
