"""The callback-data codec: typed fields, the 64-byte limit, forged data refused."""

from __future__ import annotations

import pytest

from handlers.callback_data import CallbackDataError, Route

ADD = Route("bsk:add", (int, int, str))


def test_round_trip_and_pattern():
    data = ADD.pack(12, 345, "1.5")
    assert data == "bsk:add:12:345:1.5"
    assert ADD.unpack(data) == (12, 345, "1.5")
    assert ADD.pattern.match(data)
    assert not ADD.pattern.match("bsk:add:12:345")
    assert not Route("bsk").pattern.match(data)


@pytest.mark.parametrize(
    "forged",
    [None, "", "bsk:add", "bsk:add:1:2", "bsk:add:x:2:3", "bsk:add:1:2:3:4", "other:1:2:3"],
)
def test_forged_data_is_refused(forged):
    with pytest.raises(CallbackDataError):
        ADD.unpack(forged)


def test_packing_refuses_what_telegram_would():
    with pytest.raises(ValueError, match="64 bytes"):
        Route("x", (str,)).pack("é" * 40)
    with pytest.raises(ValueError, match="not an int"):
        ADD.pack("a", 1, "b")
    with pytest.raises(ValueError, match="contains"):
        ADD.pack(1, 2, "a:b")
