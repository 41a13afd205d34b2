"""Which failures are worth retrying: storage, network and provider trouble that goes away by
itself, as opposed to failures that would repeat identically with the same inputs (pure; no Dagster).

Used by the inbox (a transient error leaves a brief in the inbox for the next tick) and by the
assets (a deterministic error fails the step without the retry policy; jobs.py).
"""

from __future__ import annotations

#: S3 error codes that mean "try again later"
TRANSIENT_S3_CODES = frozenset(
    {
        "500",
        "502",
        "503",
        "504",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "RequestLimitExceeded",
        "TooManyRequests",
    }
)
#: OSErrors that describe the request, not the system: retrying cannot help
PERMANENT_OS_ERRORS = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


def is_transient(exc: BaseException) -> bool:
    """True for failures a retry may cure: connection errors and timeouts, S3 5xx/throttling, the
    provider's 408/409/429/5xx and connection drops, local I/O errors other than a missing file."""
    seen = 0
    while exc is not None and seen < 8:  # also look through ``raise ... from`` chains
        if _transient_one(exc):
            return True
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        seen += 1
    return False


def _transient_one(exc: BaseException) -> bool:
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    try:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            EndpointConnectionError,
            ReadTimeoutError,
        )
        from botocore.exceptions import ConnectTimeoutError as BotoConnectTimeout
    except ImportError:  # pragma: no cover - boto3 is a dependency
        pass
    else:
        if isinstance(
            exc, (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, BotoConnectTimeout)
        ):
            return True
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            status = str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            return str(error.get("Code", "")) in TRANSIENT_S3_CODES or status.startswith("5")
    try:
        import openai
    except ImportError:  # pragma: no cover - openai is a dependency
        pass
    else:
        if isinstance(exc, (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)):
            return True
        if isinstance(exc, openai.APIStatusError):
            return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, OSError) and not isinstance(exc, PERMANENT_OS_ERRORS)
