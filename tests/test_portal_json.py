"""egov.sources.onestop.json_body.loads reads what `json.loads` reads, as it reads it: the fast parser
(msgspec) is tried first, and whatever it refuses goes to the reference parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egov.masking import TOO_DEEP, shallow
from egov.sources.onestop import json_body


def reference(data: bytes):
    """What the contract's reader means: the standard library, long integers as Decimal."""
    return json.loads(data, parse_int=json_body._int)


def outcome(read, data: bytes):
    try:
        return "ok", repr(read(data))  # repr: NaN, -0.0 and 1 vs 1.0 vs True compared exactly
    except (ValueError, RecursionError) as exc:
        return "error", type(exc).__name__


EDGE_CASES = [
    b'[123456789012345678901234567890]', b'{"a":1,"a":2}', b'["\\ud800"]', b'["\\u0000x"]',
    b'[1e400]', b'[-0.0, 0.1, 5e-324]', b'[NaN]', b'[-Infinity]', b'\xef\xbb\xbf[1]',
    b'[' + b'9' * 5000 + b']', '["é"]'.encode("utf-16"), b'["\xed\xa0\x80"]', b'["a\nb"]',
    b'[01]', b'[1.]', b'[1]x', b'{"a":1,}', b'', b'[1]\x00', b'["\\x41"]',
    b'[-0]', b'["\\ud83d\\ude00"]', b'"\xff"', b'{"data": [{"Gia": 10}], "tongSo": 1}',
]


@pytest.mark.parametrize("data", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_read_as_the_reference_reads_them(data):
    assert outcome(json_body.loads, data) == outcome(reference, data)


def _deep(n: int, open_: str = "[", close: str = "]") -> str:
    return open_ * n + close * n


@pytest.mark.parametrize("depth", [1_000, 1_500, 100_000])
def test_a_value_nested_too_deeply_cuts_only_that_value(depth):
    """Issue 20.3: the reference parser raises RecursionError for the whole page; here the
    page is read, each too-deep value is replaced by TOO_DEEP, the rest as it was."""
    nested_object = '{"a":' * depth + "1" + "}" * depth
    body = ('{"error_code": "0", "tongSo": 3, "data": [{"MaHoSo": "A"}, {"MaHoSo": "B", '
            f'"Extra": {_deep(depth)}, "S": "[[{{{{"}}, {{"MaHoSo": "C", "DanhSachLePhi": '
            f'[{nested_object}]}}]}}')
    with pytest.raises(RecursionError):
        json.loads(body)
    page = json_body.loads(body.encode())
    a, b, c = page["data"]
    assert a == {"MaHoSo": "A"}
    assert b["S"] == "[[{{" and TOO_DEEP in json.dumps(b["Extra"])
    assert TOO_DEEP in json.dumps(c["DanhSachLePhi"])
    assert page["tongSo"] == 3


def test_an_unclosed_deep_body_is_not_json():
    with pytest.raises(ValueError):
        json_body.loads(b"[" * 3000)


def test_shallow_copies_without_recursion():
    value: list = []
    inner = value
    for _ in range(50_000):
        inner.append([])
        inner = inner[0]
    cut = shallow(value, 5)
    assert cut == [[[[[TOO_DEEP]]]]]


def test_an_integer_beyond_the_conversion_limit_is_a_decimal():
    [value] = json_body.loads(b'[' + b'7' * 5000 + b']')
    assert str(value) == "7" * 5000 and not isinstance(value, int)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@st.composite
def bodies(draw):
    text = json.dumps(draw(JSON_VALUES), ensure_ascii=draw(st.booleans()))
    data = text.encode("utf-8", "surrogatepass")
    for _ in range(draw(st.integers(0, 2))):  # a byte changed, dropped or added
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        byte = bytes([draw(st.integers(0, 255))])
        how = draw(st.sampled_from(["set", "drop", "add"]))
        data = (data[:at] + (b"" if how == "drop" else byte)
                + data[at + (0 if how == "add" else 1):])
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_any_body_reads_as_the_reference_reads_it(data):
    assert outcome(json_body.loads, data) == outcome(reference, data)


def test_a_plain_page_is_read_by_the_fast_parser(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the reference parser was called")

    monkeypatch.setattr(json_body.json, "loads", refuse)
    page = {"data": [{"MaHoSo": "H1", "DanhSachLePhi": [{"Gia": 10**15}]}], "tongSo": 1}
    assert json_body.loads(json.dumps(page).encode()) == page
