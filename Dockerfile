# syntax=docker/dockerfile:1
# One image for every MyBroker process: the command picks it, e.g. `python -m services.auth`,
# `python -m gateway`. Target `app` (default) runs everything but documents; target `documents`
# adds LibreOffice (office -> PDF conversion of the documents service).
#   docker build -t mybroker/app:dev .                      # app (last stage is the default)
#   docker build -t mybroker/documents:dev --target documents .
# Versions here are the ones of docker-compose.yml and of the test fixtures' container mode.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:20-bookworm-slim

# --- pdfjs: pdf.js for the document viewer, from the npm registry with npm (pinned + hashed) ------
FROM ${NODE_IMAGE} AS pdfjs
WORKDIR /src
COPY deploy/vendor-pdfjs.sh deploy/npm-package.sh deploy/
RUN mkdir -p gateway && deploy/vendor-pdfjs.sh /pdfjs

# --- build: a virtualenv with the project and its dependencies (wheels only, no compiler kept) ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/venv
# Dependencies first, from the lock (`make lock`): the versions and file hashes CI tested; this
# layer is reused as long as requirements/runtime.txt does not change.
COPY requirements/runtime.txt ./requirements/
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements/runtime.txt
COPY pyproject.toml README.md LICENSE ./
COPY libs ./libs
COPY services ./services
COPY gateway ./gateway
COPY --from=pdfjs /pdfjs ./gateway/web/static/vendor/pdfjs
RUN /opt/venv/bin/pip install --no-deps --only-binary=:all: . \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# --- runtime: the slim base, the virtualenv, an unprivileged user ----------------------------------
FROM ${PYTHON_IMAGE} AS runtime-base
LABEL org.opencontainers.image.title="mybroker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.description="MyBroker services and gateway"
RUN groupadd --system --gid 10001 mybroker \
    && useradd --system --uid 10001 --gid 10001 --home-dir /tmp --shell /usr/sbin/nologin mybroker
COPY --from=build /opt/venv /opt/venv
# Listen on every interface inside the container (the settings default to loopback).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    MYBROKER_HEALTH_HOST=0.0.0.0 \
    MYBROKER_GATEWAY_HOST=0.0.0.0 \
    MYBROKER_PROBE_URL=http://127.0.0.1:8000/health/live
WORKDIR /tmp
USER 10001:10001
# Each process serves /health/live; compose and Kubernetes set MYBROKER_PROBE_URL per process.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-m", "libs.servicekit.probe"]
EXPOSE 8000
CMD ["python", "-m", "gateway"]

# --- documents: the runtime plus LibreOffice (writer/calc/impress, no GUI) and fonts --------------
FROM runtime-base AS documents
USER root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui \
        fonts-dejavu-core fonts-liberation2 fonts-crosextra-carlito fonts-crosextra-caladea \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
CMD ["python", "-m", "services.documents"]

# --- app: every other service and the gateway (default target) -----------------------------------
FROM runtime-base AS app
# The signing service reads the MRZ of ID card photos (mobile signature) with tesseract.
USER root
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        tesseract-ocr tesseract-ocr-eng \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
