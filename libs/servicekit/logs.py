"""JSON logs with the correlation id of the request being handled."""

import logging
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import structlog

from libs.servicekit.tracing import configure_tracing, current_trace_id

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

# A presigned S3 URL is a bearer credential for its lifetime: whoever reads it in a log gets the
# document without logging in. The query string of any URL that carries signing parameters is
# cut, and a signing parameter found elsewhere (an Authorization header, a URL-encoded URL) loses
# its value. The path stays: it names the object, which is what an operator needs.
_SIGNING_PARAMETERS = r"(?:X-Amz-[A-Za-z-]+|AWSAccessKeyId|Signature|Credential|Expires)"
# The look-ahead stops at the next "?": a long line of them stays linear to scan.
_SIGNED_QUERY = re.compile(
    r"\?(?=[^\s\"'<>?]*?" + _SIGNING_PARAMETERS + r"(?:=|%3D))[^\s\"'<>]*", re.IGNORECASE)
_SIGNING_VALUE = re.compile(
    r"(\b(?:X-Amz-(?:Signature|Credential|Security-Token)|AWSAccessKeyId|Signature|Credential)"
    r"(?:=|%3D))[^\s&,;\"'<>]+", re.IGNORECASE)
_SIGNING_MARKERS = ("x-amz-", "signature", "credential", "awsaccesskeyid", "expires")
REDACTED = "[redacted]"


def _add_correlation_id(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    current = correlation_id.get()
    if current and "correlation_id" not in event_dict:
        event_dict["correlation_id"] = current
    return event_dict


def _add_trace_id(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    trace_id = current_trace_id()
    if trace_id and "trace_id" not in event_dict:
        event_dict["trace_id"] = trace_id
    return event_dict


def redact_signed_urls(text: str) -> str:
    """`text` without the query strings of signed storage URLs nor any signing value."""
    lowered = text.lower()
    if not any(marker in lowered for marker in _SIGNING_MARKERS):
        return text  # the common case: no regular expression runs
    return _SIGNING_VALUE.sub(rf"\1{REDACTED}", _SIGNED_QUERY.sub(f"?{REDACTED}", text))


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_signed_urls(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(item) for item in value)
    return value


def _redact_event(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """structlog processor: every value of the line, exception text included, redacted."""
    return {key: _redact_value(value) for key, value in event_dict.items()}


class SignedUrlRedaction(logging.Filter):
    """Redacts signed URLs in a standard-library record (httpx, urllib3, minio, uvicorn...):
    its message with the arguments merged in, and its exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is the handler's to report
            message = str(record.msg)
        redacted = redact_signed_urls(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_signed_urls(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_signed_urls(record.stack_info)
        return True


def _install_record_redaction() -> None:
    """Redact every standard-library record as it is made, whichever handler writes it: a
    filter on the root handler alone would miss a handler added later (uvicorn's log config,
    a library's own) and records of loggers that do not propagate."""
    previous: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(previous, "redacts_signed_urls", False):
        return
    redaction = SignedUrlRedaction()

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redaction.filter(record)
        return record

    make_record.redacts_signed_urls = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON object per line on stdout, every line naming the service and the trace.

    Every process entry point calls this first, so it also installs the process's tracing and
    the redaction of signed storage URLs in every log line (structlog's and the standard
    library's).
    """
    configure_tracing(service)
    _install_record_redaction()
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_correlation_id,
            _add_trace_id,
            structlog.processors.format_exc_info,
            _redact_event,  # last before rendering: the exception text is a value by now
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structured logger."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(name)
    return logger
