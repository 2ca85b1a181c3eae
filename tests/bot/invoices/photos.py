"""Make phone-photo-like images of QR codes for tests and the benchmark."""

import io
import random

import zxingcpp
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

# One payload per kind code of domain.md's QR format (the first four are the real examples).
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


def _perspective(image: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """Tilt the code as a hand-held phone does: move each corner a little."""
    w, h = image.size
    d = strength * min(w, h)
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(x + rng.uniform(-d, d), y + rng.uniform(-d, d)) for x, y in src]
    coeffs = _perspective_coeffs(dst, src)
    return image.transform(
        (w, h),
        Image.Transform.PERSPECTIVE,
        coeffs,
        Image.Resampling.BICUBIC,
        fillcolor=(245, 245, 240),
    )


def _perspective_coeffs(dst, src) -> list[float]:
    """Solve the 8 coefficients mapping output points (dst) to input points (src)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    return _solve(rows, rhs)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(n):
            if r != col:
                f = m[r][col] / m[col][col]
                m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def phone_photo(
    payload: str,
    rng: random.Random,
    size: tuple[int, int] = (1920, 1080),
    quality: int = 30,
    *,
    hard: bool = False,
) -> bytes:
    """Return JPEG bytes: the QR small, rotated and blurred on a noisy 'desk' photo.

    `hard` adds perspective, a smaller code, stronger blur, uneven light and
    lower JPEG quality: the worse end of what users send.
    """
    qr = qr_image(payload, scale=rng.choice([3, 4, 5]))
    if hard:
        qr = _perspective(qr, rng, rng.uniform(0.03, 0.10))
    qr = qr.rotate(rng.uniform(0, 360), expand=True, fillcolor=(245, 245, 240))
    side = rng.randint(170, 280) if hard else rng.randint(180, 320)
    side = side * max(size) // 1920
    qr = qr.resize((side, side * qr.height // qr.width), Image.Resampling.BILINEAR)
    # Sensor noise: uniform random grey (Image.effect_noise is too slow for many photos).
    spread = rng.uniform(0.25, 0.45)
    noise = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).convert("RGB")
    paper = Image.new("RGB", size, (rng.randint(180, 240),) * 3)
    photo = Image.blend(paper, noise, spread)
    draw = ImageDraw.Draw(photo)
    for _ in range(40):  # printed text and table lines around the code
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.line((x, y, x + rng.randint(20, 400), y), fill=(60, 60, 60), width=rng.randint(1, 3))
    x = rng.randint(0, size[0] - qr.width)
    y = rng.randint(0, size[1] - qr.height)
    photo.paste(qr, (x, y))
    blur = (rng.uniform(0.6, 1.4) if hard else rng.uniform(0.4, 1.3)) * max(size) / 1920
    # Out of focus: only the code's surroundings matter, so only they are blurred (fast).
    box = (max(0, x - 20), max(0, y - 20), min(size[0], x + qr.width + 20))
    box = (*box, min(size[1], y + qr.height + 20))
    photo.paste(photo.crop(box).filter(ImageFilter.GaussianBlur(blur)), box[:2])
    # Sensor noise over everything, the code included.
    grain = Image.frombytes("L", size, rng.randbytes(size[0] * size[1])).convert("RGB")
    photo = Image.blend(photo, grain, rng.uniform(0.08, 0.16) if hard else rng.uniform(0.04, 0.1))
    shade = Image.linear_gradient("L").resize(size).point(lambda v: 200 + v // 5)
    if hard:
        # Light from one side, from any direction.
        shade = shade.rotate(rng.uniform(0, 360), fillcolor=200).point(lambda v: max(v, 150))
        photo = ImageEnhance.Contrast(photo).enhance(rng.uniform(0.7, 0.95))
    photo = Image.composite(photo, Image.new("RGB", size, (0, 0, 0)), shade)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=rng.randint(20, 35) if hard else quality)
    return out.getvalue()
