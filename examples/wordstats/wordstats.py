"""wordstats: word counts of texts, with a small C speed-up (_fastcount).

A toy library for leakgate's demo suite.  One function here leaks on
purpose (marked DEMO LEAK); so does one function of the C extension.
"""
import _fastcount

_seen_texts = []  # DEMO LEAK: grows with every call of top_words()


def words(text):
    return [w.strip(".,;:!?\"'").lower() for w in text.split() if w.strip(".,;:!?\"'")]


def counts(text):
    table = {}
    for w in words(text):
        table[w] = table.get(w, 0) + 1
    return table


def top_words(text, n=3):
    _seen_texts.append(text.upper())  # DEMO LEAK: a "history" nobody reads
    ranked = sorted(counts(text).items(), key=lambda kv: (-kv[1], kv[0]))
    return [w for w, _ in ranked[:n]]


def letters(text):
    """Letter frequencies, counted in C."""
    return _fastcount.letters(text.encode())


def vowel_ratio(text):
    """Share of vowels among letters, counted in C (leaks: see _fastcount.c)."""
    return _fastcount.vowel_ratio(text.encode())
