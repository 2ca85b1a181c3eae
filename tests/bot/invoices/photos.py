"""Make phone-photo-like images of QR codes for tests and the benchmark."""

import io
import random

import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

PAYLOADS = [
    "01,10,011001605111,80100798,64.9,20161018,85342965681116380258,BE2D",
    "01,04,1100174320,40184419,329.25,20180512,82190984023325258452,8E15,",
    "01,01,4300171130,02550485,10545.43,20180115,6579,",
    "01,32,,24312000000136634917,0.01,20240514,,1DD6",
    "01,31,,24117000000212341234,1060.00,20250513,,A1B2",
    "01,08,044031900113,87654321,5000.00,20250401,,C3D4",
    "01,11,021021900106,31415926,88.00,20250110,12345678901234567890,E5F6",
    "01,14,012001900612,00998877,35.50,20250108,11111222223333344444,0A0B",
    "01,02,3502192270,00001111,1200.00,20250220,,9C9D",
    "01,03,144031822110,00012345,150000.00,20250301,,7E7F",
]


def qr_image(payload: str, scale: int = 4) -> Image.Image:
    """Render a payload as a crisp grayscale QR code with a quiet zone."""
    barcode = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode)
    raw = barcode.to_image(scale=scale)
    view = memoryview(raw)
    image = Image.frombytes("L", (view.shape[1], view.shape[0]), bytes(view))
    return image.convert("RGB")


def phone_photo(
    payload: str,
    rng: random.Random,
    size: tuple[int, int] = (1920, 1080),
    quality: int = 30,
) -> bytes:
    """Return JPEG bytes: the QR small, rotated and blurred on a noisy 'desk' photo."""
    qr = qr_image(payload, scale=rng.choice([3, 4, 5]))
    qr = qr.rotate(rng.uniform(0, 360), expand=True, fillcolor=(245, 245, 240))
    side = rng.randint(180, 320)
    qr = qr.resize((side, side * qr.height // qr.width), Image.Resampling.BILINEAR)
    noise = Image.effect_noise(size, rng.uniform(20, 45)).convert("RGB")
    paper = Image.new("RGB", size, (rng.randint(180, 240),) * 3)
    photo = Image.blend(paper, noise, 0.35)
    draw = ImageDraw.Draw(photo)
    for _ in range(40):  # printed text and table lines around the code
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.line((x, y, x + rng.randint(20, 400), y), fill=(60, 60, 60), width=rng.randint(1, 3))
    x = rng.randint(0, size[0] - qr.width)
    y = rng.randint(0, size[1] - qr.height)
    photo.paste(qr, (x, y))
    photo = photo.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.3)))
    shade = Image.linear_gradient("L").resize(size).point(lambda v: 200 + v // 5)
    photo = Image.composite(photo, Image.new("RGB", size, (0, 0, 0)), shade)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=quality)
    return out.getvalue()
