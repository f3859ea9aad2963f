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


def _int(literal: str):
    limit = sys.get_int_max_str_digits()
    if limit and len(literal.lstrip("-")) > limit:
        return Decimal(literal)
    return int(literal)


def loads(data: str | bytes):
    """`json.loads` for a portal body; raises ValueError as it does for text that is not JSON.
    The C parser reads the body; only a body it refuses for an over-long integer is read again
    with `_int` (a Python call per integer costs ~15% of the parse)."""
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer literal beyond the int conversion limit
        return json.loads(data, parse_int=_int)
