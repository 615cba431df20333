from __future__ import annotations

from textsiam.data.graph import text_components


def test_components_in_first_seen_order():
    nodes, comp = text_components(["a", "x", "c", "b"], ["b", "y", "d", "c"])
    assert nodes == ["a", "b", "x", "y", "c", "d"]
    assert comp.tolist() == [0, 0, 1, 1, 0, 0]  # a-b, b-c, c-d chain into one group


def test_unlinked_pairs_keep_their_texts_apart():
    nodes, comp = text_components(["a", "b", "c"], ["b", "c", "d"], linked=[True, True, False])
    assert dict(zip(nodes, comp.tolist(), strict=True)) == {"a": 0, "b": 0, "c": 0, "d": 1}
