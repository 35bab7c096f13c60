"""The size budget of a tool result, so that one page of orders never floods a model's context.

Claude Code refuses MCP tool output above 25,000 tokens by default (its
MAX_MCP_OUTPUT_TOKENS setting), and other clients pass whatever arrives into the
context. Order records are JSON with many short keys and values, which
tokenizers split into roughly one token per 3 bytes (an estimate, not a
measurement), so 60,000 bytes of records stays near 20,000 tokens. The rest of
a page result (count, query, next arguments) adds well under 2 KB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_PAGE_BYTES", "PageFit", "fit_page", "json_size", "keep_leading", "shorten_record"]

MAX_PAGE_BYTES = 60_000

Record = dict[str, Any]


def json_size(value: object) -> int:
    """Return the size in bytes of `value` as compact UTF-8 JSON, the form a tool result carries."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


@dataclass(frozen=True)
class PageFit:
    """A page cut to the size budget by whole records, with what the caller needs to fetch the rest."""

    records: list[Record]
    has_more: bool
    next_skip: int | None
    notes: list[str] = field(default_factory=list)


def fit_page(
    page: Sequence[Record],
    *,
    received: int,
    top: int,
    skip: int,
    max_bytes: int = MAX_PAGE_BYTES,
) -> PageFit:
    """Keep the leading whole records of `page` that fit in `max_bytes`, and describe how to get the rest.

    `page` holds the records to show, at most `top` and already in their final form;
    `received` is how many records the API returned for a request of `top + 1`.
    """
    notes: list[str] = []
    shown = list(page[:top])
    has_more = received > top
    if received > top + 1:
        notes.append(
            f"The API returned {received} orders where at most {top + 1} were requested, so it ignored $top; "
            f"only the first {len(shown)} are shown. If the next page repeats these orders, the API ignores "
            "$skip as well: narrow the search with filters instead of paging."
        )

    kept: list[Record] = []
    size = 2  # the brackets of the JSON list
    for record in shown:
        size += json_size(record) + (1 if kept else 0)
        if size > max_bytes:
            break
        kept.append(record)

    if len(kept) < len(shown):
        has_more = True
        limit = f"{max_bytes // 1000} KB"
        if kept:
            notes.append(
                f"Only the first {len(kept)} of {len(shown)} orders fit in the {limit} result limit. Call again with "
                f"skip={skip + len(kept)} for the rest, or ask for fewer orders with a smaller top or for fewer "
                "fields with select."
            )
        else:
            # Skip past the one record that cannot be shown, or paging would never advance.
            order_id = shown[0].get("Id")
            notes.append(
                f"The order with Id {order_id} alone is larger than the {limit} result limit, so it is left out. "
                f"Read it with get_order, or list it with select naming fewer fields; the next page starts at "
                f"skip={skip + 1}."
            )
            return PageFit(records=[], has_more=True, next_skip=skip + 1, notes=notes)

    return PageFit(records=kept, has_more=has_more, next_skip=skip + len(kept) if has_more else None, notes=notes)


def keep_leading(
    records: Sequence[Record], what: str, max_bytes: int = MAX_PAGE_BYTES
) -> tuple[list[Record], list[str]]:
    """Keep the leading whole records that fit in `max_bytes`; `what` names them in the note."""
    kept: list[Record] = []
    size = 2
    for record in records:
        size += json_size(record) + (1 if kept else 0)
        if size > max_bytes:
            note = (
                f"Only the first {len(kept)} of {len(records)} {what} fit in the {max_bytes // 1000} KB result "
                "limit; narrow the search for the rest."
            )
            return kept, [note]
        kept.append(record)
    return kept, []


_SHORTENED = "… [shortened]"


def shorten_record(record: Record, max_bytes: int = MAX_PAGE_BYTES) -> tuple[Record, list[str]]:
    """Shorten the longest text fields of one record until it fits in `max_bytes`, saying which.

    A record is only this large when a free-text field (notes, directions) is huge,
    so cutting that text keeps every other field intact and readable.
    """
    notes: list[str] = []
    shortened = json.loads(json.dumps(record))
    while json_size(shortened) > max_bytes:
        path, text = _longest_text(shortened)
        if path is None or len(text) <= 200:
            notes.append(f"The record is larger than the {max_bytes // 1000} KB result limit even with its text cut.")
            break
        excess = json_size(shortened) - max_bytes
        keep = max(200, len(text) - excess - 100)
        _set_path(shortened, path, text[:keep] + _SHORTENED)
        notes.append(
            f"{'/'.join(path)} was shortened from {len(text):,} to {keep:,} characters to fit the "
            f"{max_bytes // 1000} KB result limit."
        )
    return shortened, notes


def _longest_text(value: object, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...] | None, str]:
    best: tuple[tuple[str, ...] | None, str] = (None, "")
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, str):
                candidate: tuple[tuple[str, ...] | None, str] = ((*path, str(key)), child)
            else:
                candidate = _longest_text(child, (*path, str(key)))
            if len(candidate[1]) > len(best[1]):
                best = candidate
    return best


def _set_path(record: Record, path: tuple[str, ...], value: str) -> None:
    target: Any = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
