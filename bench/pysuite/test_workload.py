"""A small suite of ordinary, allocation-light tests that free what they
allocate: the whole-suite benchmark runs it plain and under leak checkers."""

import json

import pytest


@pytest.mark.parametrize("n", range(40))
def test_json_round_trip(n):
    doc = {"id": n, "tags": [f"t{i}" for i in range(50)], "nested": {"k": list(range(n))}}
    assert json.loads(json.dumps(doc)) == doc


@pytest.mark.parametrize("n", range(40))
def test_string_building(n):
    parts = [str(i) * (n % 7 + 1) for i in range(200)]
    text = ",".join(parts)
    assert text.split(",") == parts


@pytest.mark.parametrize("n", range(40))
def test_dict_counting(n):
    counts = {}
    for word in ("alpha beta gamma delta " * (n + 5)).split():
        counts[word] = counts.get(word, 0) + 1
    assert counts["alpha"] == n + 5
