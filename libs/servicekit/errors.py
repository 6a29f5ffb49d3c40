"""Typed service errors. Raised in handlers, carried over RPC, mapped to HTTP in the gateway."""

from libs.contracts.errors import ErrorCode


class ServiceError(Exception):
    """A failure a caller can act on; `code` says which kind."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, detail: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields

    @classmethod
    def from_code(
        cls, code: ErrorCode, detail: str, fields: dict[str, str] | None = None
    ) -> "ServiceError":
        """Rebuild the matching subclass from a code received over the bus."""
        error_class = _BY_CODE.get(code, ServiceError)
        error = error_class(detail, fields=fields)
        error.code = code
        return error


class Invalid(ServiceError):
    code = ErrorCode.INVALID


class Unauthenticated(ServiceError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(ServiceError):
    code = ErrorCode.FORBIDDEN


class NotFound(ServiceError):
    code = ErrorCode.NOT_FOUND


class Conflict(ServiceError):
    code = ErrorCode.CONFLICT


class Gone(ServiceError):
    code = ErrorCode.GONE


class RateLimited(ServiceError):
    code = ErrorCode.RATE_LIMITED


class Unavailable(ServiceError):
    code = ErrorCode.UNAVAILABLE


_BY_CODE: dict[ErrorCode, type[ServiceError]] = {
    cls.code: cls
    for cls in (Invalid, Unauthenticated, Forbidden, NotFound, Conflict, Gone, RateLimited,
                Unavailable)
}
