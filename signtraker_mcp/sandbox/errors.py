"""Exceptions that the sandbox API turns into HTTP error responses."""

from __future__ import annotations

__all__ = ["InvalidQueryError", "InvalidRequestError", "OrderNotFoundError", "SandboxError"]

QUERY_ERROR_PREFIX = "The query specified in the URI is not valid."


class SandboxError(Exception):
    """Base class of the errors that the sandbox reports to API clients."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidQueryError(SandboxError):
    """An OData query option is malformed or names an unknown property (HTTP 400)."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"{QUERY_ERROR_PREFIX} {detail}")
        self.detail = detail


class InvalidRequestError(SandboxError):
    """A request body is invalid or the order is in the wrong state (HTTP 400)."""


class OrderNotFoundError(SandboxError):
    """No order has the requested id (HTTP 404 with an empty body)."""

    def __init__(self, order_id: int) -> None:
        super().__init__(f"No order has Id {order_id}.")
        self.order_id = order_id
