"""The one masking helper for values shown as samples (GX results, Data Docs, quarantine
reasons and values, task logs): a run of 9 to 12 digits, optionally split by single spaces,
dots or dashes and led by '+' (an ID number: 9 or 12 digits; a phone number: 10 or 11, or
+84 and 9) shows its shape only: its first digit, then '#' for every other digit
('0987654321' -> '0#########'). Longer runs (portal timestamps, 14 digits) and shorter ones
(codes, counts) are shown as they are."""

from __future__ import annotations

import re
from typing import Any

_PERSONAL = re.compile(r"(?<![\d#])\+?\d(?:[ .\-]?\d){8,11}(?![\d#])")


def _shape(match: re.Match) -> str:
    text = match.group()
    lead = 2 if text.startswith("+") else 1
    return text[:lead] + re.sub(r"\d", "#", text[lead:])


def mask_text(text: str) -> str:
    """`text` with every ID- or phone-like digit run replaced by its shape."""
    return _PERSONAL.sub(_shape, text) if any(c.isdigit() for c in text) else text


SAMPLE_DEPTH = 8  # levels of a list / dict sample kept (deeper: TOO_DEEP)


def mask_value(value, _depth: int = 0):
    """A sample as it may be shown: text masked; an integer of 9 to 12 digits as its shape
    (text); lists, tuples and dicts element by element, SAMPLE_DEPTH levels at most;
    anything else as it is."""
    if _depth == 0 and isinstance(value, list | tuple | dict):
        value = shallow(list(value) if isinstance(value, tuple) else value, SAMPLE_DEPTH)
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        masked = mask_text(text)
        return value if masked == text else masked
    if isinstance(value, list | tuple):
        return [mask_value(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(v, _depth + 1) for k, v in value.items()}
    return value


TOO_DEEP = "<nested deeper than the levels kept: not read>"


def shallow(value: Any, limit: int) -> Any:
    """A copy of `value` with every array / object deeper than `limit` levels replaced by
    TOO_DEEP (no recursion): for writing a parsed value that json.dumps or repr cannot."""
    if not isinstance(value, dict | list):
        return value
    top: dict[Any, Any] | list[Any] = {} if isinstance(value, dict) else []
    stack: list[tuple[Any, Any, int]] = [(value, top, 1)]
    while stack:
        src, dst, depth = stack.pop()
        for key, child in (src.items() if isinstance(src, dict) else enumerate(src)):
            new: Any
            if isinstance(child, dict | list):
                if depth >= limit:
                    new = TOO_DEEP
                else:
                    new = {} if isinstance(child, dict) else []
                    stack.append((child, new, depth + 1))
            else:
                new = child
            if isinstance(dst, dict):
                dst[key] = new
            else:
                dst.append(new)
    return top
