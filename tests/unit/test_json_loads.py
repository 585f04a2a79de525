"""The PostgreSQL engine's JSON reader (`leadrelay.db.json_loads`) makes the values json.loads
makes, also where orjson alone would not: integers past 64 bits, NaN, non-UTF-8 bytes."""
from __future__ import annotations

import json

import pytest

from leadrelay.db import json_loads

TEXTS = [
    '{"rule": "fit: budget", "points": 10, "ratio": 0.1, "ok": true, "none": null, "list": [1, 2.50, "é"]}',
    '[18446744073709551615, -9223372036854775808]',  # the 64-bit edges orjson reads as integers
    '[18446744073709551616, -9223372036854775809, 123456789012345678901234567890]',  # past them
    '[1.5e300, 0.30000000000000004, 1E400]',  # 1E400: json.loads reads inf, orjson refuses it
    '{"a": NaN}', '{"a": 1, "a": 2}', '"\\ud83d\\ude00"', '{}',
]


@pytest.mark.parametrize("text", TEXTS)
def test_json_loads_reads_what_json_loads_reads(text):
    expected = json.loads(text)
    for given in (text, text.encode(), memoryview(text.encode())):
        got = json_loads(given)
        assert repr(got) == repr(expected)
        assert json.dumps(got, sort_keys=False) == json.dumps(expected, sort_keys=False)
