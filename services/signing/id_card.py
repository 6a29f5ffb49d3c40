"""The back of an identity card: its machine readable zone (MRZ, ICAO 9303 TD1: three lines of
30 characters) read from a phone photo with tesseract, then checked against the dossier's person.

The photo is straightened (the angle whose rows differ most), enlarged, and read with only the
MRZ's characters allowed; the three lines are found among what was read and the usual OCR
confusions are undone field by field (a digit where the format wants one). The `mrz` package
the check digits are ICAO 9303's (weights 7, 3, 1), checked here.
"""

import io
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageOps, UnidentifiedImageError

from libs.servicekit.errors import Invalid, Unavailable

MIN_WIDTH, MIN_HEIGHT = 640, 400  # smaller: the MRZ's characters are too few pixels high
MAX_PIXELS = 40_000_000  # larger: refused before decoding (a decompression bomb)
READ_WIDTH = 1500  # the photo is read at this width
MRZ_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
LINE = 30
TESSERACT_TIMEOUT = 20.0

# What OCR reads where the format wants a digit, and where it wants a letter.
_AS_DIGIT = str.maketrans({"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1",
                           "T": "1", "Z": "2", "S": "5", "B": "8", "G": "6", "A": "4"})
_AS_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G",
                            "4": "A"})


@dataclass(frozen=True)
class IdCard:
    """What the MRZ says (names as in the MRZ: upper case, `<` between words)."""

    document_type: str
    country: str
    document_number: str
    birth_date: str  # YYMMDD
    sex: str
    expiry_date: date
    nationality: str
    surname: str
    given_names: str
    optional_data: str
    optional_data_2: str


class PhotoProblem(Invalid):
    """A photo that cannot be read, with the reason in `fields["photo"]`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail, fields={"photo": reason})


# --- the photo ------------------------------------------------------------------------------

def load_photo(data: bytes) -> Image.Image:
    """The photo as a grey image, upright as the phone took it; not an image or too small ->
    refused with the reason."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise PhotoProblem("too_large", "The photo has too many pixels.")
            if opened.format not in {"JPEG", "PNG", "WEBP", "HEIF", "GIF", "BMP", "TIFF",
                                     "MPO"}:
                raise PhotoProblem("not_an_image", "This file is not a photo.")
            # A phone's JPEG decodes straight at the size read (DCT scaling): much quicker.
            opened.draft("L", (READ_WIDTH, READ_WIDTH * 2 // 3))
            image = ImageOps.exif_transpose(opened).convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise PhotoProblem("not_an_image", "This file is not a photo.") from error
    if min(image.size) < MIN_HEIGHT or max(image.size) < MIN_WIDTH:
        raise PhotoProblem("too_small", f"The photo is too small ({image.width}x{image.height} "
                           f"pixels): take it with at least {MIN_WIDTH}x{MIN_HEIGHT}.")
    return image


def _print_only(image: Image.Image, width: int = 400) -> Image.Image:
    """A small black-on-white copy with only the print (the desk and the card are white)."""
    height = max(1, image.height * width // image.width)
    small = ImageOps.autocontrast(image.resize((width, height)))
    return small.point(lambda v: 0 if v < 70 else 255)


def _row_means(image: Image.Image) -> list[int]:
    column = image.resize((1, image.height), Image.Resampling.BOX)
    return [int(v) for v in column.get_flattened_data()]  # type: ignore[arg-type]


def _row_contrast(image: Image.Image) -> float:
    """How much the rows differ: text lines give dark rows between light ones when level."""
    values = _row_means(image)
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values)


def _level_angle(small: Image.Image) -> float:
    def score(angle: float) -> float:
        return _row_contrast(small.rotate(angle, expand=True, fillcolor=255))
    coarse = max(range(-6, 7), key=score)
    return max((coarse + quarter / 4 for quarter in range(-3, 4)), key=score)


def straighten(image: Image.Image) -> Image.Image:
    """Rotate by the angle (within +-6 degrees) at which the text lines are level."""
    best = _level_angle(_print_only(image))
    if best == 0.0:
        return image
    histogram = image.histogram()
    background = max(range(256), key=histogram.__getitem__)  # the desk, most often
    return image.rotate(best, expand=True, fillcolor=background,
                        resample=Image.Resampling.BICUBIC)


def mrz_band(image: Image.Image) -> Image.Image:
    """The last three lines of print (the MRZ at the bottom of the card), with a margin."""
    small = _print_only(image)
    rows = _row_means(small)
    bands: list[tuple[int, int]] = []
    start: int | None = None
    for y, value in enumerate([*rows, 255]):
        if value < 252 and start is None:
            start = y
        elif value >= 252 and start is not None:
            if y - start >= 3:
                bands.append((start, y))
            start = None
    if len(bands) < 3:
        return image
    top, bottom = bands[-3][0], bands[-1][1]
    margin = max(4, (bottom - top) // 3)
    scale = image.height / small.height
    return image.crop((0, max(0, int((top - margin) * scale)), image.width,
                       min(image.height, int((bottom + margin) * scale))))


def prepare(image: Image.Image) -> Image.Image:
    """At the width read, straightened, full contrast (resized first: rotating a phone's full
    resolution would cost more than the reading)."""
    if image.width != READ_WIDTH:
        image = image.resize((READ_WIDTH, max(1, image.height * READ_WIDTH // image.width)),
                             Image.Resampling.LANCZOS)
    image = straighten(image)
    return ImageOps.autocontrast(image, cutoff=1)


def ocr(image: Image.Image, *, command: str = "tesseract") -> str:
    """The text tesseract reads, MRZ characters only."""
    executable = shutil.which(command)
    if executable is None:
        raise Unavailable("The identity card reader is not installed.")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    done = subprocess.run(  # noqa: S603 - a fixed program, the image on stdin
        [executable, "stdin", "stdout", "-l", "eng", "--psm", "6",
         "-c", f"tessedit_char_whitelist={MRZ_CHARACTERS}", "-c", "load_system_dawg=0",
         "-c", "load_freq_dawg=0"],
        input=buffer.getvalue(), env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        capture_output=True, timeout=TESSERACT_TIMEOUT, check=False)
    if done.returncode != 0:
        raise Unavailable("The identity card reader failed.")
    return done.stdout.decode("utf-8", "replace")


# --- the three lines -----------------------------------------------------------------------

def _fix(text: str, pattern: str) -> str:
    """Per character: `9` wants a digit, `A` a letter, `X` either (a filler stays `<`)."""
    out = []
    for char, kind in zip(text, pattern, strict=False):
        if char == "<":
            out.append(char)
        elif kind == "9":
            out.append(char.translate(_AS_DIGIT))
        elif kind == "A":
            out.append(char.translate(_AS_LETTER))
        else:
            out.append(char)
    return "".join(out)


# TD1: line 1 type(2) country(3) number(9) check(1) optional(15); line 2 birth(6) check(1)
# sex(1) expiry(6) check(1) nationality(3) optional(11) composite(1); line 3 names.
_LINE1 = "AAAAA" + "X" * 9 + "9" + "X" * 15
_LINE2 = "9999999A9999999AAA" + "X" * 11 + "9"
_LINE3 = "A" * LINE


_FILLER_TAIL = re.compile(r"<[<KSCE]*$")
_LINE2_SHAPE = re.compile(r"^[0-9]{7}[MFX<][0-9]{7}[A-Z<]{3}")


def _clean(line: str) -> str:
    line = line.upper().replace(" ", "").replace("«", "<")
    line = "".join(c for c in line if c in MRZ_CHARACTERS)
    # OCR reads a run of fillers at the end of a line as K, S, C or E now and then.
    return _FILLER_TAIL.sub(lambda found: "<" * len(found.group(0)), line)


def find_mrz(text: str) -> list[str] | None:
    """The three MRZ lines in OCR text (fixed up), or None when there are none: the second
    line (dates and nationality) is the anchor, the lines around it the others."""
    lines = [_clean(line) for line in text.splitlines()]
    lines = [line for line in lines if len(line) >= 10]
    for index in range(1, len(lines) - 1):
        second = _fit(lines[index], _LINE2)
        if not _LINE2_SHAPE.match(second):
            continue
        first = _first_line(lines[index - 1])
        third = _fit(lines[index + 1], _LINE3)
        if "<" in third:
            return [first, second, third]
    return None


def _check_digit(text: str) -> str:
    values = [int(c) if c.isdigit() else 0 if c == "<" else ord(c) - 55 for c in text]
    return str(sum(v * (7, 3, 1)[i % 3] for i, v in enumerate(values)) % 10)


def _first_line(raw: str) -> str:
    """Line 1, with one character OCR added to the document number taken out when that makes
    its check digit right (OCR-B's 5 is read "5S" now and then)."""
    if raw[:1] not in "IAC":
        raw = "I" + raw[1:]
    first = _fit(raw, _LINE1)
    if _check_digit(first[5:14]) == first[14]:
        return first
    for extra in range(5, 15):
        repaired = _fit(raw[:extra] + raw[extra + 1:], _LINE1)
        if _check_digit(repaired[5:14]) == repaired[14]:
            return repaired
    return first


def _fit(line: str, pattern: str) -> str:
    line = (line + "<" * LINE)[:LINE] if len(line) < LINE else line[:LINE]
    return _fix(line, pattern)


def parse(lines: list[str]) -> IdCard:
    """The card's fields once every check digit is right (else refused: `check_digits`)."""
    first, second, third = lines
    if len(first) != LINE or len(second) != LINE or len(third) != LINE:
        raise PhotoProblem("unreadable", "The identity card could not be read.")
    number, number_check = first[5:14], first[14]
    optional = first[15:30]
    if number_check == "<" and optional.strip("<"):
        # A number longer than 9: it goes on in the optional data up to its check digit.
        rest = optional.rstrip("<")
        number, number_check, optional = number + rest[:-1], rest[-1], ""
    birth, birth_check = second[0:6], second[6]
    expiry_text, expiry_check = second[8:14], second[14]
    composite = first[5:30] + second[0:7] + second[8:15] + second[18:29]
    checks = [(number, number_check), (birth, birth_check), (expiry_text, expiry_check),
              (composite, second[29])]
    if any(_check_digit(text) != digit for text, digit in checks):
        raise Invalid("The card's check digits are not right: take the photo again.",
                      fields={"photo": "check_digits"})
    try:
        expiry = _expiry(expiry_text)
    except ValueError as error:
        raise PhotoProblem("unreadable", "The identity card could not be read.") from error
    surname, _, given = third.partition("<<")
    return IdCard(document_type=first[0:2].strip("<"), country=first[2:5],
                  document_number=number.replace("<", ""), birth_date=birth,
                  sex=second[7], expiry_date=expiry, nationality=second[15:18],
                  surname=surname.replace("<", " ").strip(),
                  given_names=given.replace("<", " ").strip(),
                  optional_data=optional.strip("<"), optional_data_2=second[18:29].strip("<"))


def _expiry(yymmdd: str) -> date:
    return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))


def read_card(data: bytes, *, command: str = "tesseract") -> IdCard:
    """The MRZ of a photo of a card's back (refused with the reason when it cannot be read)."""
    image = load_photo(data)
    prepared = prepare(image)
    refusal: Invalid = PhotoProblem(
        "unreadable", "The identity card could not be read: photograph the back of the card, "
        "flat, in good light, filling the frame.")
    # The zone alone first (quicker, larger), then the whole photo should that fail.
    for variant in (mrz_band(prepared), prepared):
        lines = find_mrz(ocr(variant, command=command))
        if lines is None:
            continue
        try:
            return parse(lines)
        except Invalid as problem:
            refusal = problem
    raise refusal


# --- the card against the dossier's person -------------------------------------------------

def mrz_name(name: str) -> str:
    """A name as an MRZ writes it: upper case without accents, `<` for anything else."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    return re.sub(r"<+", "<", re.sub(r"[^A-Z]", "<", plain)).strip("<")


def card_problem(card: IdCard, *, last_name: str, first_name: str, birth_date: date | None,
                 national_number: str | None, today: date) -> str | None:
    """Why the card does not validate this person's identity (None: it does): expired,
    another_person."""
    if card.expiry_date < today:
        return "expired"
    surname = mrz_name(card.surname)
    given = mrz_name(card.given_names).split("<")
    wanted_surname = mrz_name(last_name)
    if not surname or not (_same_name(surname, wanted_surname)
                           or _cut(surname, wanted_surname)):
        return "another_person"
    wanted = mrz_name(first_name).split("<")[0]
    if not given or not given[0] or not (_same_name(given[0], wanted)
                                         or _cut(given[0], wanted)):
        return "another_person"
    if birth_date is None or card.birth_date != birth_date.strftime("%y%m%d"):
        return "another_person"
    register = re.sub(r"\D", "", card.optional_data_2 or "")
    if len(register) == 11 and national_number and \
            re.sub(r"\D", "", national_number) != register:
        return "another_person"
    return None


def _cut(read: str, wanted: str) -> bool:
    """A long name is cut short in the 30 characters of the name line (a few letters stay)."""
    return len(read) >= 3 and wanted.startswith(read)


def _same_name(read: str, wanted: str) -> bool:
    """The name line has no check digit: OCR-B's filler after a name is read as K, S, C or E
    now and then ("PIETERK<<<"), which is the same name."""
    return read == wanted or (read[:-1] == wanted and read[-1] in "KSCE")


CARD_MESSAGES = {
    "expired": "This identity card has expired.",
    "another_person": "This identity card is not yours: the name or birth date does not match "
                      "what the office knows of you.",
}
