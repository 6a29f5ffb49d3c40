"""Benchmark: reading the MRZ of one ID card photo (the mobile signature's enrolment), as the
signing service does it: decode, straighten, find the zone, tesseract, check digits. Target:
under 2 s for one photo on one core.

    .venv/bin/python -m tests.load.bench_mrz [--photos 20]

Synthetic photos (tests/id_card_samples.py: noise, blur, a rotation between -3 and 3 degrees),
each read once, one at a time; prints p50, p99 and the maximum, and how many were read right.
No infrastructure is needed (Debian's tesseract-ocr is).
"""

import argparse
import random
import statistics
import time

from services.signing.id_card import read_card
from tests.id_card_samples import card_photo, mrz_lines, pieter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    arguments = parser.parse_args()
    rng = random.Random(7)
    photos = [card_photo(mrz_lines(pieter()), seed=seed, rotation=rng.uniform(-3, 3),
                         blur=rng.uniform(0.4, 1.2)) for seed in range(arguments.photos)]
    timings: list[float] = []
    right = 0
    for photo in photos:
        started = time.perf_counter()
        try:
            card = read_card(photo)
            right += card.document_number == "592123456" and card.birth_date == "810412"
        except Exception as error:  # noqa: BLE001 - a failed read is counted, not fatal
            print(f"not read: {error}")
        timings.append(time.perf_counter() - started)
    timings.sort()
    p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
    print(f"MRZ read of one ID photo ({len(photos)} photos, {len(photos[0]) // 1024} KiB "
          f"JPEG each): p50 {statistics.median(timings):.2f} s, p99 {p99:.2f} s, "
          f"max {timings[-1]:.2f} s; read right {right}/{len(photos)} (target < 2 s)")


if __name__ == "__main__":
    main()
