"""JSON of portal bodies, read so that no value can make a whole page unreadable.

Python refuses to turn an integer literal of more than `sys.get_int_max_str_digits()` digits
(4,300 by default) into an int, and `json.loads` then fails on the whole body. Such a literal
is read as a `Decimal` instead (exact, linear time): it is no JSON integer the contract accepts
anywhere, so the version breaks a rule (a code or `Gia`) or the field is stored null.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from typing import Any

from msgspec.json import Decoder

_fast = Decoder().decode


def _int(literal: str) -> int | Decimal:
    limit = sys.get_int_max_str_digits()
    if limit and len(literal.lstrip("-")) > limit:
        return Decimal(literal)
    return int(literal)


def loads(data: str | bytes) -> Any:
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
