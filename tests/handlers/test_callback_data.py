"""The callback-data codec: named typed fields, the 64-byte limit, forged data refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.callback_data import MAX_BYTES, CallbackData, CallbackDataError


class AddToBasket(CallbackData, prefix="bsk:add"):
    cycle_id: int
    product_id: int
    qty: str


class OpenBasket(CallbackData, prefix="bsk"):
    pass


class Note(CallbackData, prefix="x"):
    text: str


def test_round_trip_and_pattern():
    data = AddToBasket(12, 345, "1.5").pack()
    assert data == "bsk:add:12:345:1.5"
    assert AddToBasket.unpack(data) == AddToBasket(cycle_id=12, product_id=345, qty="1.5")
    assert AddToBasket.unpack(data).product_id == 345
    assert AddToBasket.pattern.match(data)
    assert not AddToBasket.pattern.match("bsk:add:12:345")
    assert not OpenBasket.pattern.match(data)
    assert OpenBasket().pack() == "bsk"
    assert OpenBasket.unpack("bsk") == OpenBasket()
    assert AddToBasket.fields == (("cycle_id", int), ("product_id", int), ("qty", str))


def test_the_wire_format_of_buttons_already_shown_still_unpacks():
    """Buttons sent before the routes had names carry ``prefix:value:value``."""
    from handlers.basket import ConfirmBasket
    from handlers.catalog import AddToBasket as AddFromCard

    assert AddFromCard.unpack("cat:a:7:42:0.5:3:1") == AddFromCard(7, 42, "0.5", 3, 1)
    assert ConfirmBasket.unpack("bsk:ok:7:1a2b3c").shown == "1a2b3c"


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "bsk:add",
        "bsk:add:1:2",
        "bsk:add:x:2:3",
        "bsk:add:1.5:2:3",
        "bsk:add:1:2:3:4",
        "bsk:add:99999999999999999999:2:3",
        "bsk:add:999999999999:2:3",  # fits no integer column: PostgreSQL would refuse it
        "bsk:add:-2147483649:2:3",
        "other:1:2:3",
        "bsk:1:2:3",
    ],
)
def test_forged_data_is_refused(forged):
    with pytest.raises(CallbackDataError):
        AddToBasket.unpack(forged)


def test_a_route_without_fields_takes_nothing_more():
    with pytest.raises(CallbackDataError):
        OpenBasket.unpack("bsk:1")
    with pytest.raises(CallbackDataError):
        OpenBasket.unpack("bsk:")


def test_values_the_route_itself_refuses_are_forged_data():
    """A route's own check (a known language, a quantity) refuses at unpack time too."""
    from handlers.language import SetLanguage
    from handlers.routes import ShowCard

    assert SetLanguage.unpack("lang:set:en").code == "en"
    for forged in ("lang:set:de", "lang:set:"):
        with pytest.raises(CallbackDataError):
            SetLanguage.unpack(forged)
    for quantity in ("0", "-1", "abc", "NaN", "Infinity"):
        with pytest.raises(CallbackDataError):
            ShowCard.unpack(f"cat:p:1:2:{quantity}:0:0")


def test_packing_refuses_what_telegram_would():
    with pytest.raises(ValueError, match="64 bytes"):
        Note("é" * 40).pack()
    assert len(Note("é" * 30).pack().encode()) <= MAX_BYTES


def test_wrong_types_are_refused_when_the_data_is_made():
    with pytest.raises(ValueError, match="not an int"):
        AddToBasket("1", 1, "b")
    with pytest.raises(ValueError, match="not an int"):
        AddToBasket(True, 1, "b")
    with pytest.raises(ValueError, match="not an str"):
        AddToBasket(1, 1, 1.5)
    with pytest.raises(ValueError, match="contains"):
        AddToBasket(1, 2, "a:b")


def test_a_route_declares_only_what_travels_in_a_button():
    with pytest.raises(TypeError, match="only int and str"):

        class Bad(CallbackData, prefix="bad"):
            when: float


def test_ints_past_32_bits_are_refused_when_packing_too():
    with pytest.raises(ValueError, match="out of range"):
        AddToBasket(2**31, 2, "3")


def test_instances_are_frozen():
    data = AddToBasket(1, 2, "3")
    with pytest.raises(AttributeError):
        data.qty = "4"  # type: ignore[misc]


ints = st.integers(min_value=-(2**31), max_value=2**31 - 1)
texts = st.text(st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), max_size=20)


@given(cycle_id=ints, product_id=ints, qty=texts)
def test_what_is_packed_unpacks_to_the_same(cycle_id, product_id, qty):
    data = AddToBasket(cycle_id, product_id, qty)
    try:
        packed = data.pack()
    except ValueError:
        assert len(f"bsk:add:{cycle_id}:{product_id}:{qty}".encode()) > MAX_BYTES
        return
    assert AddToBasket.pattern.match(packed)
    assert AddToBasket.unpack(packed) == data


@given(st.text(max_size=70))
def test_anything_else_is_refused_or_fits(data):
    try:
        unpacked = AddToBasket.unpack(data)
    except CallbackDataError:
        return
    # Only spellings of the same values get through ("007" is 7).
    assert AddToBasket.unpack(unpacked.pack()) == unpacked
    assert unpacked.pack().split(":")[4] == data.split(":")[4]
