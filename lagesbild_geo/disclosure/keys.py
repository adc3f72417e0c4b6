"""Record keys: the pseudo-random numbers that decide each figure's perturbation.

A record is one actor's contribution to one cell (area × week × indicator × actor kind); its
key is SHA-512 of a secret (kept in the restricted schema, ``lagesbild.protection_secret``) and
the record's content (who, which cell, the counts, the breakdown). The 64 bytes give 32 keys of
16 bits, one per figure of the record: slot 0 the count (a share's numerator), slot 1 a share's
rest (denominator − numerator), slots 1–7 the weekday bins and 8–31 the hour bins of a count
with a breakdown (a share has no breakdown, so slot 1 is never used twice).

Why content and not only position: the same contribution gets the same key in every
publication (a re-approval or a correction that leaves a cell as it was changes nothing public
— no second noisy copy to average), and a contribution that changes gets a fresh key, so the
difference between two publications is as noisy as any figure (no exact differencing of a
withdrawal). Why per contribution: an actor who knows its own figures exactly still faces the
others' own perturbations (Evans, Zayatz & Slanta 1998, the noise method of the US County
Business Patterns), however often it corrects its own.

The same function is computed in SQL by the refresh (``publish._contribution_keys``, with
PostgreSQL's ``sha512``); tests check they agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from lagesbild_geo.disclosure.ptable import KEY_STEPS

SLOTS = 32
SLOT_COUNT = 0
SLOT_REST = 1
SLOTS_WEEKDAY = slice(1, 8)
SLOTS_HOUR = slice(8, 32)


def digest(secret: bytes, content: bytes) -> bytes:
    """The record's 64-byte digest: SHA-512 of the secret followed by the content."""
    return hashlib.sha512(secret + content).digest()


def from_digests(digests: Iterable[bytes]) -> np.ndarray:
    """Keys in [0, 1) from 64-byte digests: an array of shape (n, 32)."""
    raw = b"".join(digests)
    if len(raw) % 64:
        raise ValueError("a record digest is 64 bytes")
    words = np.frombuffer(raw, dtype=">u2").reshape(-1, SLOTS)
    return words.astype(np.float64) / KEY_STEPS


def record_keys(secret: bytes, contents: Iterable[bytes]) -> np.ndarray:
    """Keys of records given by their content bytes: shape (n, 32)."""
    return from_digests(digest(secret, c) for c in contents)
