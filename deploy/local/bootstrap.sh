#!/usr/bin/env bash
# Installs what MyBroker needs on a Debian 12 machine without a container engine:
# the Python virtualenv (.venv: the hash-checked lock requirements/dev.txt, then the project
# editable), pdf.js for the document viewer (deploy/vendor-pdfjs.sh, with npm), and, as root, the
# Debian packages chromium (browser tests), LibreOffice without GUI (documents shown as PDF),
# npm (to fetch pdf.js) and rabbitmq-server (when no RabbitMQ is running).
# Idempotent: a second run only checks. `make install` runs it; `make dev` / `make test` too.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { echo "[bootstrap] $*"; }

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: $*; run as root: apt-get install -y $*" >&2
    return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# --- Debian packages -----------------------------------------------------------------------
missing=()
command -v make >/dev/null || missing+=(make)
command -v openssl >/dev/null || missing+=(openssl)  # tests/deploy: the compose secrets script
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
command -v npm >/dev/null || missing+=(npm)  # fetches pdf.js from the npm registry
# The documents service converts office files, text, HTML and e-mails to PDF with soffice.
for package in libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
    fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
    || missing+=("$package")
done
# The signing service reads the MRZ of ID card photos with tesseract (English model); the tests
# draw their synthetic cards in the OCR-B font.
for package in tesseract-ocr tesseract-ocr-eng fonts-ocr-b; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" \
    || missing+=("$package")
done
if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && ! [ -x /usr/sbin/rabbitmq-server ]; then
  missing+=(rabbitmq-server)
fi
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null
then
  missing+=(python3 python3-venv)
  PYTHON=/usr/bin/python3
fi
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

# --- Python virtualenv ---------------------------------------------------------------------
# The dependencies come from the lock (requirements/dev.txt, `make lock`): exact versions and
# the sha256 of every file, the bytes CI and the images install too. The stamp holds the hash of
# the lock and of pyproject.toml, so a changed lock (a pull, `make lock`) installs again.
stamp=.venv/.installed
lock=requirements/dev.txt
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $("$PYTHON" --version)"
  "$PYTHON" -m venv .venv
fi
wanted="$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  log "pip install --require-hashes -r $lock, then -e . (output in .venv/pip-install.log)"
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --require-hashes \
           -r "$lock" \
         && .venv/bin/python -m pip install --disable-pip-version-check --no-deps -e .; } \
      > .venv/pip-install.log 2>&1; then
    tail -n 30 .venv/pip-install.log >&2
    exit 1
  fi
  # A dependency dropped from the lock leaves the virtualenv too: tests see what CI sees.
  mapfile -t dropped < <(.venv/bin/python -m deploy.lock --extraneous "$lock")
  if [ ${#dropped[@]} -gt 0 ]; then
    log "pip uninstall ${dropped[*]} (no longer in $lock)"
    .venv/bin/python -m pip uninstall --disable-pip-version-check -y "${dropped[@]}" \
      >> .venv/pip-install.log 2>&1
  fi
fi
# Written also when nothing was installed: its time tells make the check is done.
echo "$wanted" > "$stamp"
# --- pdf.js for the document viewer (served from the gateway's /static, not committed) -----
deploy/vendor-pdfjs.sh
# --- axe-core for the accessibility browser tests (tests/browser/vendor, not committed) ------
deploy/vendor-axe.sh
log "ready: .venv ($(.venv/bin/python --version)), chromium $(
  /usr/bin/chromium --version 2>/dev/null | awk '{print $2}'), $(soffice --version 2>/dev/null \
  | awk '{print $1, $2}')"
