"""Benchmark: how many mails per second the notifier renders (Jinja2 templates, Babel texts,
text + HTML parts, the EmailMessage serialised as it goes to SMTP), per language.

The notifier must hand >= 200 mails/s to SMTP; rendering is one step of that and must not be the
bottleneck. Compiled templates and translations are kept by the process (`renderer()`), so the
first mail pays for the compilation and is left out (a warm-up round per language).

    .venv/bin/python -m tests.load.bench_mail_rendering --seconds 3
    .venv/bin/python -m tests.load.bench_mail_rendering --seconds 3 --logo   # with an inline logo

Every mail kind is rendered in turn (the mix of tests/unit/test_notifier_mail_rendering.py),
branded with a full office settings. CPU only, one process: on this shared 2-core machine,
compare, don't quote; the CPU column is the steadier one.
"""

import argparse
import os
import time
from collections.abc import Callable
from email.message import EmailMessage

from libs.i18n import LANGUAGES, Language
from services.notifier.mail_templates import Branding
from tests.unit import test_notifier_mail_rendering as samples

# A 1x1 PNG-sized payload of a realistic logo (12 kB): its bytes go base64 into every mail.
LOGO = samples.PNG + bytes(12_000)


def run(language: Language, seconds: float, builders: list[Callable[[Language], EmailMessage]],
        ) -> tuple[int, float, float, int]:
    """Mails rendered and serialised in `seconds`: (count, wall seconds, CPU seconds of this
    process, mean size in bytes). CPU seconds tell what one core does when the machine is
    shared: the wall clock also counts the time other processes had the core."""
    for build in builders:  # warm-up: compile every template once
        build(language).as_bytes()
    count = size = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        for build in builders:
            size += len(build(language).as_bytes())
            count += 1
    return (count, time.perf_counter() - started, time.process_time() - cpu_started,
            size // max(count, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per language")
    parser.add_argument("--logo", action="store_true", help="brand the mails with a logo")
    args = parser.parse_args()
    if args.logo:
        samples.BRANDING = Branding.from_settings(samples.OFFICE, logo=LOGO)
    builders = list(samples.MAILS.values())
    print(f"{len(builders)} mail kinds, logo: {'yes' if args.logo else 'no'}")
    print(f"{'language':<9}{'mails':>7}{'mails/s':>9}{'mails/cpu-s':>13}{'cpu ms/mail':>13}"
          f"{'bytes':>7}")
    for language in LANGUAGES:
        count, elapsed, cpu, size = run(language, args.seconds, builders)
        print(f"{language:<9}{count:>7}{count / elapsed:>9.0f}{count / cpu:>13.0f}"
              f"{1000 * cpu / count:>13.2f}{size:>7}")
    print(f"load average: {' '.join(f'{value:.1f}' for value in os.getloadavg())} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
