"""The search engine adapter's named errors, and how an engine's error answer maps to one.

Callers decide on the type, never on strings: :class:`EngineUnavailable` (retry later),
:class:`EngineRejected` (the engine refused this request or document: dead-letter it now) and
:class:`QueryError` (an analyst's query is wrong: tell them, never a 500).
"""

from __future__ import annotations

from typing import Any

# Statuses that mean "the cluster is busy or restarting", not "this request is wrong".
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# Errors the engines answer with a 500 although the request caused them: too many boolean
# clauses (OpenSearch 2.x reports too_many_nested_clauses as a 500), a search_after value the
# sort cannot read, or a snapshot repository location outside the engine's path.repo (or one it
# cannot write). Retrying the same request fails the same way, so they are refusals.
REQUEST_FAULT_TYPES = frozenset(
    {
        "too_many_nested_clauses",
        "too_many_clauses",
        "null_pointer_exception",
        "repository_exception",
        "repository_verification_exception",
    }
)


class EngineError(Exception):
    """Base of the adapter's named errors."""


class EngineUnavailable(EngineError):
    """Connection refused, timed out, or the cluster answered 429/5xx: retry later."""


class EngineRejected(EngineError):
    """The engine refused a request or document (4xx): retrying it unchanged will not help."""

    def __init__(self, status: int, error_type: str, reason: str) -> None:
        super().__init__(f"{status} {error_type}: {reason}")
        self.status = status
        self.error_type = error_type
        self.reason = reason


class QueryError(EngineError):
    """An analyst's query cannot run; the message says why in words an analyst can act on."""


def error_from_status(status: int, body: Any) -> EngineError:
    """Map an HTTP error answer to a named error, keeping the engine's own type and reason."""
    error = body.get("error") if isinstance(body, dict) else body
    if isinstance(error, dict):
        root = (error.get("root_cause") or [error])[0]
        error_type = str(root.get("type", error.get("type", "error")))
        reason = str(root.get("reason") or error.get("reason") or error)
        caused = error.get("caused_by")
        if isinstance(caused, dict) and caused.get("reason") and caused["reason"] not in reason:
            reason = f"{reason} ({caused['reason']})"
    else:
        error_type, reason = "error", str(error)
    if error_type in REQUEST_FAULT_TYPES:
        # Reported as the 400 it is, so a search layer tells the analyst, not "is it running?".
        return EngineRejected(400, error_type, reason)
    if status in RETRYABLE_STATUSES or status >= 500:
        return EngineUnavailable(f"engine answered {status} {error_type}: {reason}")
    return EngineRejected(status, error_type, reason)
