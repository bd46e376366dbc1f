"""How word-like a run of letters reads: the mean of its letter pairs' log-likelihoods.

Words and the abbreviations code is written in follow a few common letter pairs; random
letters pick the next one uniformly.  Each pair's score is log2 of how much likelier it is
after its first letter in identifiers than under a uniform pick (made by
fixtures/scan/make_letter_pairs.py from the distinct identifier pieces of CPython 3.11's
standard library).  Over the letters of a 10-20 character value, random lower-case
letters average below -0.4 bits in 95% of cases, identifiers and words made of
dictionary pieces above it in over 98% (mixed-case identifiers: 99.9%).
Pronounceable random strings (consonant-vowel alternation) read as words: no pair
table can tell them apart.
"""

from __future__ import annotations

import re

_LOW, _STEP = -8.0, 1 / 3  # level k of the table is _LOW + k * _STEP bits
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
# Row: first letter a..z; column: second letter a..z; one base-36 level each.
_TABLE = (
    "eoqpehnfn8jtqscoauqukjiika",  # a
    "sonksjghsneukjrldqqlr8eeof",  # b
    "tcmisgesp8rqjivhdpmsofc7l5",  # c
    "rkkoxlifvdfoijrhdopmohgdha",  # d
    "phqtmnkfi9epnthmkutrfkjoh9",  # e
    "qilmsthbwb8qhitjaroppdeak6",  # f
    "pgkjxhmqr8apmqoi1sqmphfbff",  # g
    "vgjkwhegt2illjug6olrncg9ke",  # h
    "nmqonmo6d8dqpwrmaorram7i4m",  # i
    "tbolwlbirbpligumbjpgubgbib",  # j
    "qjnmxlmmtdgphnmlgntmlen5k9",  # k
    "tgjnwhefv8fsghsk8foongb8q8",  # l
    "vnfkwgdes8gloiss0fpknbb6i6",  # m
    "rfqssnufqckkhkpjcgrulleag9",  # n
    "jlpqfllek9kqqvnq1tppqloidb",  # o
    "ugkkukgmq0fsghspctoqneh7n4",  # p
    "limjjiggge9mgkjjqnrjziie99",  # q
    "thnmwjlet3klnlsk6orqlih9l7",  # r
    "ofpjuhiqs9kmjiophiqvrehcl9",  # s
    "shmjvicqu8cmjiql9sqnnfhcne",  # t
    "oqolpmlco6erqukr6ssseaad6a",  # u
    "vkkezhjft4biiioj9kkielfcde",  # v
    "vimmtkfpvbfmhrrjbrrjffjk9d",  # w
    "olrnsrhlr5anmimt5mnvjjholf",  # x
    "nlnmqljfq5epprnvaotsimlgjj",  # y
    "thmizkgjt99iigqi9ikjj9i9ii",  # z
)
_SCORE: dict[str, float] = {
    chr(97 + i) + chr(97 + j): _LOW + _DIGITS.index(level) * _STEP
    for i, row in enumerate(_TABLE)
    for j, level in enumerate(row)
}
_LETTERS_RE = re.compile("[a-z]{2,}")
# Below this mean a run of letters reads as random (see the module docstring).
RANDOM_BELOW = -0.4


def pair_score(value: str) -> float | None:
    """Mean pair score over the letter runs of `value` (case folded); None under 9 pairs."""
    total = 0.0
    pairs = 0
    for run in _LETTERS_RE.findall(value.lower()):
        for k in range(len(run) - 1):
            total += _SCORE[run[k : k + 2]]
        pairs += len(run) - 1
    return total / pairs if pairs >= 9 else None


def reads_random(value: str) -> bool:
    """At least 10 letters in runs that read as random rather than as words."""
    score = pair_score(value)
    return score is not None and score < RANDOM_BELOW
