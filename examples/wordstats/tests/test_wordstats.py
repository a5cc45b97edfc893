import pytest

import wordstats

TEXT = "The cat sat on the mat. The mat was flat, and the cat was fat."


def test_words_are_lowercase_without_punctuation():
    assert wordstats.words("Hello, World!") == ["hello", "world"]


def test_counts():
    assert wordstats.counts(TEXT)["the"] == 4


@pytest.mark.parametrize("n, expected", [(1, ["the"]), (2, ["the", "cat"])])
def test_top_words(n, expected):  # leaks: wordstats keeps every text it saw
    assert wordstats.top_words(TEXT, n) == expected


def test_letters():
    assert wordstats.letters("Abba")["a"] == 2


def test_vowel_ratio():  # leaks in C: the letter table is never freed
    assert wordstats.vowel_ratio("aab") == pytest.approx(2 / 3)
