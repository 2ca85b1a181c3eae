import datetime
import io
import random
import struct
import zlib
from decimal import Decimal

import pytest
from PIL import Image

from bot.invoices import qr
from bot.invoices.qr import QrFailure, qr_image_decode, qr_payload_parse
from tests.bot.invoices.photos import PAYLOADS, phone_photo, qr_image

# Every kind code of domain.md's QR format, with the kind it names.
KIND_CODES = {
    "01": "special",
    "02": "freight",
    "03": "motor_vehicle",
    "04": "ordinary",
    "08": "electronic_special",
    "10": "electronic_ordinary",
    "11": "roll",
    "14": "toll",
    "31": "digital_special",
    "32": "digital_ordinary",
}


def jpeg(image: Image.Image, **save) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", **save)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb's calling card)."""
    out = io.BytesIO()
    Image.new("L", (1, 1)).save(out, "PNG")
    data = bytearray(out.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr : ihdr + 17]))
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


def test_real_examples_parse_to_fields():
    got = qr_payload_parse(PAYLOADS[0])
    assert got.ok and got.kind_code == "10"
    assert got.fields.invoice_code == "011001605111"
    assert got.fields.invoice_number == "80100798"
    assert got.fields.issue_date == datetime.date(2016, 10, 18)
    assert got.fields.amount == Decimal("64.90")
    assert got.fields.amount_kind == "excluding_tax"
    assert got.fields.check_code == "380258"
    assert got.check_code_full == "85342965681116380258"
    assert (got.fields.kind, got.fields.region) == ("electronic_ordinary", "北京")


def test_digital_payload_has_no_code_and_the_amount_is_the_total():
    got = qr_payload_parse("01,32,,24312000000136634917,0.01,20240514,,1DD6")
    assert got.ok
    assert got.fields.invoice_code is None
    assert got.fields.invoice_number == "24312000000136634917"
    assert (got.fields.amount, got.fields.amount_kind) == (Decimal("0.01"), "total")
    assert got.fields.check_code is None
    assert (got.fields.kind, got.fields.region) == ("digital_ordinary", "上海")


def test_short_check_code_of_a_special_invoice_is_not_a_check_code():
    got = qr_payload_parse("01,01,4300171130,02550485,10545.43,20180115,6579,")
    assert got.ok and got.fields.check_code is None
    assert (got.fields.kind, got.fields.region) == ("special", "湖南")


@pytest.mark.parametrize(("code", "kind"), KIND_CODES.items())
def test_every_kind_code(code, kind):
    if kind.startswith("digital"):
        payload = f"01,{code},,25117000000012345678,100.00,20250513,,ABCD"
    else:
        payload = f"01,{code},011001900111,12345678,100.00,20250513,12345678901234567890,ABCD"
    got = qr_payload_parse(payload)
    assert got.ok and got.fields.kind == kind


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("", QrFailure.EMPTY),
        ("   ", QrFailure.EMPTY),
        (None, QrFailure.EMPTY),
        ("https://inv-veri.chinatax.gov.cn/index.html", QrFailure.URL),
        ("http://weixin.qq.com/r/abc", QrFailure.URL),
        ("weixin://wxpay/bizpayurl?pr=abc", QrFailure.URL),
        ("WIFI:S:office;T:WPA;P:secret;;", QrFailure.NOT_INVOICE),
        ("hello, world", QrFailure.NOT_INVOICE),
        ("01,99,011001900111,12345678,100.00,20250513,,", QrFailure.NOT_INVOICE),
        ("01,10,011001900111,12345678,100.00,20251340,,", QrFailure.NOT_INVOICE),
        ("01,10,0110019001,1234,100.00,20250513,,", QrFailure.NOT_INVOICE),
        ("01,10,011001900111,12345678,NaN,20250513,,", QrFailure.NOT_INVOICE),
        ("01,10,011001900111,12345678,1e999999,20250513,,", QrFailure.NOT_INVOICE),
        ("01,10,011001900111,12345678,-5,20250513,,", QrFailure.NOT_INVOICE),
        ("01,32,011001900111,24312000000136634917,1,20240514,,", QrFailure.NOT_INVOICE),
        ("01,10,abc,def,ghi,jkl,mno,pqr", QrFailure.NOT_INVOICE),
        ("\x00" * 500, QrFailure.NOT_INVOICE),
    ],
)
def test_payloads_that_are_no_invoice_say_why(payload, reason):
    got = qr_payload_parse(payload)
    assert not got.ok and got.reason is reason and got.fields is None


def test_as_json_has_the_command_fields():
    data = qr_payload_parse(PAYLOADS[1]).as_json()
    assert data["payload"] == PAYLOADS[1] and data["reason"] is None
    assert data["issue_date"] == "2018-05-12" and data["amount"] == "329.25"
    failed = qr_payload_parse("https://example.com").as_json()
    assert failed["reason"] == "url" and failed["invoice_number"] is None


@pytest.mark.parametrize("payload", PAYLOADS)
def test_crisp_code_of_every_kind_is_read(payload):
    assert qr_image_decode(jpeg(qr_image(payload), quality=90)).payload == payload


@pytest.mark.parametrize("hard", [False, True])
def test_phone_like_photos_are_read(hard):
    """Rotated, small in a 1080p photo, blurred, JPEG noise (hard: perspective, dim, worse)."""
    rng = random.Random(2025 if hard else 7)
    photos = [(p, phone_photo(p, rng, hard=hard)) for p in PAYLOADS * 2]
    read = sum(qr_image_decode(data).payload == payload for payload, data in photos)
    assert read / len(photos) >= 0.95


def test_photo_from_a_12_megapixel_camera_is_read():
    data = phone_photo(PAYLOADS[3], random.Random(5), size=(4000, 3000), quality=60)
    assert qr_image_decode(data).payload == PAYLOADS[3]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_photo_is_read(orientation):
    image = Image.open(io.BytesIO(phone_photo(PAYLOADS[0], random.Random(1))))
    exif = image.getexif()
    exif[0x0112] = orientation
    rotated = image.rotate({3: 180, 6: 90, 8: 270}[orientation], expand=True)
    out = io.BytesIO()
    rotated.save(out, "JPEG", exif=exif.tobytes(), quality=80)
    assert qr_image_decode(out.getvalue()).payload == PAYLOADS[0]


def test_png_screenshot_is_read():
    canvas = Image.new("RGB", (1170, 2532), "white")  # a phone screenshot
    canvas.paste(qr_image(PAYLOADS[4], scale=6), (300, 900))
    out = io.BytesIO()
    canvas.save(out, "PNG")
    assert qr_image_decode(out.getvalue()).payload == PAYLOADS[4]


def test_url_and_other_codes_in_photos_are_recognised_as_such():
    assert qr_image_decode(jpeg(qr_image("https://example.com/x"))).reason is QrFailure.URL
    other = qr_image_decode(jpeg(qr_image("WIFI:S:office;T:WPA;P:secret;;")))
    assert other.reason is QrFailure.NOT_INVOICE and other.payload.startswith("WIFI:")


def test_invoice_code_wins_over_another_code_in_the_same_photo():
    canvas = Image.new("RGB", (1600, 900), "white")
    canvas.paste(qr_image("https://example.com/shop", scale=5), (50, 50))
    canvas.paste(qr_image(PAYLOADS[1], scale=5), (900, 300))
    assert qr_image_decode(jpeg(canvas, quality=85)).payload == PAYLOADS[1]


def test_photo_without_a_code_says_so():
    data = jpeg(Image.effect_noise((800, 600), 40))
    assert qr_image_decode(data).reason is QrFailure.NO_QR


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", QrFailure.EMPTY),
        (b"%PDF-1.7\n1 0 obj", QrFailure.NOT_IMAGE),
        (bytes(random.Random(1).randrange(256) for _ in range(50_000)), QrFailure.NOT_IMAGE),
        ("truncated", QrFailure.NOT_IMAGE),
        ("bomb", QrFailure.TOO_LARGE),
        (b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024 + 1), QrFailure.TOO_LARGE),
    ],
    ids=["empty", "pdf", "random", "truncated", "bomb", "over-20mb"],
)
def test_bad_files_never_crash(data, reason):
    if data == "truncated":
        full = phone_photo(PAYLOADS[0], random.Random(9))
        data = full[: len(full) // 3]
    elif data == "bomb":
        data = png_claiming(30_000, 30_000)
    assert qr_image_decode(data).reason is reason


def test_pixel_limit_is_checked_before_decoding(monkeypatch):
    monkeypatch.setattr(qr, "MAX_IMAGE_PIXELS", 100 * 100)
    assert qr_image_decode(jpeg(qr_image(PAYLOADS[0]))).reason is QrFailure.TOO_LARGE


def test_spent_budget_gives_up_politely():
    data = jpeg(qr_image(PAYLOADS[0]))
    assert qr_image_decode(data, budget_seconds=-1).reason is QrFailure.NO_QR
