"""JSON of portal bodies, read so that no value can make a whole page unreadable.

Python refuses to turn an integer literal of more than `sys.get_int_max_str_digits()` digits
(4,300 by default) into an int, and `json.loads` then fails on the whole body. Such a literal
is read as a `Decimal` instead (exact, linear time): it is no JSON integer the contract accepts
anywhere, so the version breaks a rule (a code or `Gia`) or the field is stored null.

A value nested too deeply for the parsers (about 1,000 levels: `RecursionError`) does not make
the page unreadable either: the body is read again with every array or object nested deeper
than MAX_DEPTH levels replaced by the text TOO_DEEP. Each item is then judged on its own (a
record version with a value nested deeper than egov.sources.onestop.records.MAX_NESTING is quarantined).
"""

from __future__ import annotations

import json
import re
import sys
from decimal import Decimal
from typing import Any

from msgspec.json import Decoder

from egov.masking import TOO_DEEP

_fast = Decoder().decode


def _int(literal: str) -> int | Decimal:
    limit = sys.get_int_max_str_digits()
    if limit and len(literal.lstrip("-")) > limit:
        return Decimal(literal)
    return int(literal)


MAX_DEPTH = 200  # levels from the body's root, where a page that cannot be read is cut
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _cut_deep(text: str) -> str:
    """`text` with each array / object that opens deeper than MAX_DEPTH replaced by TOO_DEEP
    (one pass, no recursion; strings are skipped whole)."""
    out, depth, cut_from, last = [], 0, None, 0
    for m in _TOKENS.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth == MAX_DEPTH + 1 and cut_from is None:
                cut_from = m.start()
        elif token in "]}":
            if depth == MAX_DEPTH + 1 and cut_from is not None:
                out += [text[last:cut_from], json.dumps(TOO_DEEP)]
                last, cut_from = m.end(), None
            depth -= 1
    out.append(text[last:] if cut_from is None else text[last:cut_from])
    return "".join(out)


def _read_cut(data: str | bytes) -> Any:
    text = data if isinstance(data, str) else data.decode(json.detect_encoding(data),
                                                          "surrogatepass")
    return _loads(_cut_deep(text.removeprefix("\ufeff")))


def loads(data: str | bytes) -> Any:
    """`_loads`; a body nested too deeply to read is read with its deepest values cut."""
    try:
        return _loads(data)
    except RecursionError:
        return _read_cut(data)


def _loads(data: str | bytes) -> Any:
    """`json.loads` for a portal body; raises ValueError as it does for text that is not JSON.

    msgspec reads the body first (2-3x faster): a strict RFC 8259 parser whose result, when it
    succeeds, is the one `json.loads` gives (tests/test_portal_json.py). Whatever it refuses
    (NaN, a lone surrogate, a BOM, UTF-16, an integer beyond the conversion limit, text that is
    not JSON) is read by `json.loads`, which decides. Only a body refused for an over-long
    integer is read a third time, with `_int` (a Python call per integer)."""
    try:
        return _fast(data)
    except Exception:  # noqa: BLE001 - the reference parser below decides
        pass
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer literal beyond the int conversion limit
        return json.loads(data, parse_int=_int)


