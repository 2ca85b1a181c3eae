"""Read invoice QR codes: parse the payload, and find it in phone photos."""

import datetime
import io
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

import zxingcpp
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError
from PIL.Image import Transpose

from bot.invoices.decoding import code_decode, digital_number_decode
from bot.invoices.extraction import CENT, InvoiceFields
from bot.invoices.kinds import KIND_BY_QR_CODE

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 50 MP phone photo fits, a decompression bomb does not
WORK_SIDE = 2000  # decode large photos at this size first: fast, and enough for a QR
DECODE_BUDGET_SECONDS = 1.0


class QrFailure(StrEnum):
    """Why an image or payload gave no invoice; the dialog words the answer."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_IMAGE = "not_image"
    NO_QR = "no_qr"
    URL = "url"
    NOT_INVOICE = "not_invoice"


@dataclass(frozen=True)
class QrInvoice:
    """An invoice QR payload, parsed; reason is set when it is not one."""

    payload: str
    reason: QrFailure | None = None
    fields: InvoiceFields | None = None
    kind_code: str | None = None
    check_code_full: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def as_json(self) -> dict:
        data = (self.fields or InvoiceFields()).as_json()
        data["payload"] = self.payload or None
        data["reason"] = self.reason.value if self.reason else None
        return data


_AMOUNT = re.compile(r"\d{1,12}(?:\.\d{1,4})?")
_URL = re.compile(r"^\s*(?:https?://|www\.|weixin://|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)


def qr_payload_parse(payload: str | None) -> QrInvoice:
    """Parse `version,kind,code,number,amount,YYYYMMDD,check code,tail`; never raises."""
    payload = (payload or "").strip()
    if not payload:
        return QrInvoice("", QrFailure.EMPTY)
    if _URL.match(payload):
        return QrInvoice(payload, QrFailure.URL)
    parts = [p.strip() for p in payload.replace("，", ",").split(",")]
    if len(parts) < 6:
        return QrInvoice(payload, QrFailure.NOT_INVOICE)
    _version, kind_code, code, number, amount_text, date_text = parts[:6]
    check = parts[6] if len(parts) > 6 else ""
    kind = KIND_BY_QR_CODE.get(kind_code)
    date = _date(date_text)
    if kind is None or date is None or not number.isdigit():
        return QrInvoice(payload, QrFailure.NOT_INVOICE)
    if kind.is_digital:
        if code or len(number) != 20:
            return QrInvoice(payload, QrFailure.NOT_INVOICE)
        decoded = digital_number_decode(number, kind=kind)
    else:
        if not (code.isdigit() and len(code) in (10, 12) and len(number) == 8):
            return QrInvoice(payload, QrFailure.NOT_INVOICE)
        decoded = code_decode(code)
    if amount_text and not _AMOUNT.fullmatch(amount_text):
        return QrInvoice(payload, QrFailure.NOT_INVOICE)  # "NaN", "1e999", "-5": not money
    try:
        amount = Decimal(amount_text).quantize(CENT) if amount_text else None
    except InvalidOperation:
        return QrInvoice(payload, QrFailure.NOT_INVOICE)
    check = check if check.isdigit() else ""
    fields = InvoiceFields(
        invoice_code=code or None,
        invoice_number=number,
        issue_date=date,
        amount=amount,
        # Old invoices carry the amount excluding tax; 数电 parsers read the total.
        amount_kind=("total" if kind.is_digital else "excluding_tax")
        if amount is not None
        else None,
        check_code=check[-6:] if len(check) >= 6 else None,
        kind=kind.value,
        region=decoded.region,
    )
    return QrInvoice(payload, None, fields, kind_code, check or None)


def _date(text: str) -> datetime.date | None:
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


# -- images -----------------------------------------------------------------
_EXIF_TRANSPOSE = {
    2: Transpose.FLIP_LEFT_RIGHT,
    3: Transpose.ROTATE_180,
    4: Transpose.FLIP_TOP_BOTTOM,
    5: Transpose.TRANSPOSE,
    6: Transpose.ROTATE_270,
    7: Transpose.TRANSVERSE,
    8: Transpose.ROTATE_90,
}


def _open(data: bytes) -> Image.Image | QrFailure:
    if not data:
        return QrFailure.EMPTY
    if len(data) > MAX_IMAGE_BYTES:
        return QrFailure.TOO_LARGE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_IMAGE_PIXELS:
                return QrFailure.TOO_LARGE
            # JPEG decodes straight to grayscale, and a camera-sized photo at half size
            # (DCT scaling): most of the time saved per photo, and still >= WORK_SIDE.
            half = (image.width // 2, image.height // 2)
            image.draft("L", half if max(half) >= WORK_SIDE else image.size)
            orientation = image.getexif().get(0x0112, 1)
            gray = image.convert("L")
            method = _EXIF_TRANSPOSE.get(orientation)
            return gray.transpose(method) if method is not None else gray
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return QrFailure.TOO_LARGE
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        return QrFailure.NOT_IMAGE


def _scaled(image: Image.Image, side: int) -> Image.Image:
    factor = side / max(image.size)
    if factor >= 1:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR)


def _binarised(image: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(image, cutoff=2).point(lambda v: 255 if v > 127 else 0)


def _variants(image: Image.Image) -> Iterator[tuple[str, Callable[[], Iterable[Image.Image]]]]:
    """Yield cheap-first ways of looking at the photo (each gives one or more images)."""
    work = _scaled(image, WORK_SIDE)
    yield "as_is", lambda: [work]
    yield "sharpened", lambda: [work.filter(ImageFilter.UnsharpMask(radius=2, percent=160))]
    yield "binarised", lambda: [_binarised(work)]
    if max(image.size) > WORK_SIDE:
        yield "full", lambda: [image]
    # A small code in a big photo: enlarge overlapping tiles rather than the whole photo.
    yield "tiles", lambda: _tiles(work)
    # Last resort for tiny, blurred codes: enlarge more and sharpen (only failures pay for it).
    yield (
        "tiles_sharpened",
        lambda: (
            tile.filter(ImageFilter.UnsharpMask(radius=2, percent=150))
            for tile in _tiles(work, scale=3)
        ),
    )


def _tiles(image: Image.Image, grid: int = 3, scale: int = 2) -> Iterator[Image.Image]:
    width, height = image.size
    tile_w, tile_h = width // grid, height // grid
    pad_w, pad_h = tile_w // 2, tile_h // 2
    for row in range(grid):
        for col in range(grid):
            box = (
                max(0, col * tile_w - pad_w // 2),
                max(0, row * tile_h - pad_h // 2),
                min(width, (col + 1) * tile_w + pad_w // 2),
                min(height, (row + 1) * tile_h + pad_h // 2),
            )
            tile = image.crop(box)
            yield tile.resize((tile.width * scale, tile.height * scale), Image.Resampling.BICUBIC)


def _read(image: Image.Image) -> list[str]:
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [r.text for r in results if r.text]


def qr_image_decode(data: bytes, *, budget_seconds: float = DECODE_BUDGET_SECONDS) -> QrInvoice:
    """Find an invoice QR code in image bytes; the reason says why when there is none.

    The cheap views come first and almost every readable photo is read by them;
    the budget stops the expensive ones on photos without any code (a selfie,
    a noisy scan) so that the answer still fits in WeChat's 5-second window.
    """
    started = time.monotonic()
    image = _open(data)
    if isinstance(image, QrFailure):
        return QrInvoice("", image)
    other: QrInvoice | None = None
    for name, make in _variants(image):
        for view in make():
            if time.monotonic() - started > budget_seconds:
                return other or QrInvoice("", QrFailure.NO_QR)
            for text in _read(view):
                parsed = qr_payload_parse(text)
                if parsed.ok:
                    return parsed
                other = other or parsed
        if other is not None and name == "binarised":
            break  # a readable non-invoice code: no need to look harder
    return other or QrInvoice("", QrFailure.NO_QR)
