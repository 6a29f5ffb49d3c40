"""Synthetic photos of the back of an identity card, for the tests and the benchmark: a grey card
with a few printed lines and a TD1 machine readable zone made by the `mrz` package, in the
OCR-B font when Debian's fonts-ocr-b is installed, photographed with blur, noise and a slight
rotation on a desk. No real identity document is used anywhere."""

import io
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mrz.generator.td1 import TD1CodeGenerator
from PIL import Image, ImageDraw, ImageFilter, ImageFont

OCR_B = [Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf"),
         Path("/usr/share/fonts/truetype/ocr-b/OCRB.ttf")]
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


@dataclass(frozen=True)
class CardHolder:
    surname: str
    given_names: str
    birth_date: date
    expiry_date: date
    document_number: str = "592123456"
    national_number: str = ""  # 11 digits, in the MRZ's optional data of line 2
    sex: str = "M"


def mrz_lines(holder: CardHolder) -> list[str]:
    generated = TD1CodeGenerator(
        "ID", "BEL", holder.document_number, holder.birth_date.strftime("%y%m%d"), holder.sex,
        holder.expiry_date.strftime("%y%m%d"), "BEL", holder.surname, holder.given_names, "",
        holder.national_number)
    return str(generated).splitlines()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in [*OCR_B, DEJAVU]:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def card_photo(lines: list[str], *, seed: int = 1, rotation: float = 1.5, blur: float = 0.8,
               noise: int = 12, width: int = 1600, fmt: str = "JPEG") -> bytes:
    """A photo of a card back whose MRZ is `lines` (as given: a test may change a digit)."""
    rng = random.Random(seed)
    card_w, card_h = 1280, 808  # ID-1 proportions, 85.6 x 54 mm
    card = Image.new("L", (card_w, card_h), 232)
    draw = ImageDraw.Draw(card)
    small = _font(30)
    for row, text in enumerate(["BELGIE BELGIQUE BELGIEN", "Synthetic test card - not valid",
                                "Domicile / Woonplaats: -"]):
        draw.text((60, 50 + 50 * row), text, fill=60, font=small)
    mrz_font = _font(44)
    top = card_h - 60 - 3 * 68
    for row, line in enumerate(lines):
        draw.text((50, top + row * 68), line, fill=15, font=mrz_font)
    # The card on a desk, seen by a phone: rotated, a little blurred and noisy.
    height = int(width * 0.7)
    photo = Image.new("L", (width, height), 120)
    scale = (width * 0.8) / card_w
    shown = card.resize((int(card_w * scale), int(card_h * scale)), Image.Resampling.LANCZOS)
    shown = shown.rotate(rotation, expand=True, fillcolor=120, resample=Image.Resampling.BICUBIC)
    photo.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2))
    photo = photo.filter(ImageFilter.GaussianBlur(blur))
    if noise:
        pixels = photo.load()
        assert pixels is not None
        for _ in range(width * height // 6):
            x, y = rng.randrange(width), rng.randrange(height)
            value = pixels[x, y]
            assert isinstance(value, int)
            pixels[x, y] = max(0, min(255, value + rng.randint(-noise, noise)))
    buffer = io.BytesIO()
    photo.convert("RGB").save(buffer, format=fmt, quality=88)
    return buffer.getvalue()


def pieter(**changes: object) -> CardHolder:
    """The card of Pieter Dupont of the fixture dossier (a made-up person)."""
    base = {"surname": "Dupont", "given_names": "Pieter", "birth_date": date(1981, 4, 12),
            "expiry_date": date(2031, 5, 1), "national_number": "81041215352"}
    base.update(changes)
    return CardHolder(**base)  # type: ignore[arg-type]
