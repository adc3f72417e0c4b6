"""The attacker's audit on generated hard tables: the method holds, a planted leak is caught,
the actor attacker and two publications are modelled, and the closed form agrees with HiGHS."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.sparse import csr_array, identity

from lagesbild_geo.disclosure import audit
from lagesbild_geo.disclosure.published import BINS, Publication
from tests.disclosure.tables import generate, plant_exact_sums, publish


@pytest.fixture(scope="module")
def hard():
    return generate(3, areas=6, weeks=10)


@pytest.fixture(scope="module")
def small():
    """Smaller, for the tests that send every figure to HiGHS."""
    return generate(5, areas=3, weeks=8)


def test_the_cell_key_method_passes_on_hard_tables(hard):
    pub = publish(hard)
    results = audit.audit_all([pub])
    assert len(results) == 4  # the public and three actors
    for result in results:
        counts = result.counts()
        assert counts["cells"]["total"] > 30 and counts["situation"]["total"] > 20
        assert counts["weekday"]["total"] > 0 and counts["hour"]["total"] > 0
        assert result.failures() == 0, (result.attacker, result.worst())
        assert not (result.status == "error").any()


def test_a_planted_exact_sum_is_caught(small):
    """The 4-week sums published exactly (not derived from the cells): the audit must find
    recovered or narrowed figures; if it stopped looking at what is not derived, it would
    not."""
    pub = plant_exact_sums(publish(small))
    results = audit.audit_all([pub])
    public = results[0].counts()
    assert public["situation"]["recovered"] == public["situation"]["total"] > 0
    assert public["cells"]["recovered"] + public["cells"]["narrowed"] > 0
    assert all(r.failures() > 0 for r in results)
    assert not any((r.status == "error").any() for r in results)


def test_closed_form_equals_highs_on_every_figure(small):
    """The same publication with a row per cell that says nothing (0 <= x): every figure goes
    to HiGHS instead of the closed form, and every interval is the same."""
    for cells_of in (None, lambda actor: actor):
        pub = publish(small, cells_of=cells_of)
        forced = copy.copy(pub)
        c = len(pub.key)
        forced.constraints = csr_array(identity(c))
        forced.constraint_lo, forced.constraint_hi = np.zeros(c), np.full(c, np.inf)
        for attacker in (None, "vaktbolaget"):
            closed, solved = audit.audit([pub], attacker), audit.audit([forced], attacker)
            assert solved.solved > closed.solved
            assert_array_equal(closed.key, solved.key)
            assert_array_equal(closed.lo, solved.lo)
            assert_array_equal(closed.hi, solved.hi)


def _two_cells(published_a: int, published_b: int, planted_total: int | None) -> Publication:
    """Actor a's cell (true 3) and actor b's cell (true 1), of different actor kinds."""
    lc = None if planted_total is None else csr_array(np.array([[1.0, 1.0]]))
    return Publication(
        key=["x:a", "x:b"], published=[published_a, published_b], bins=-np.ones((2, BINS)),
        contrib_cell=[0, 1], contrib_actor=["a", "b"], contrib_value=[3, 1],
        contrib_bins=np.zeros((2, BINS)), contrib_content=["3", "1"], d=3, k=5,
        constraints=lc, constraint_lo=None if lc is None else [planted_total],
        constraint_hi=None if lc is None else [planted_total],
    )  # fmt: skip


def test_the_actor_subtracts_its_own_part():
    pub = _two_cells(4, 2, planted_total=4)
    public, actor_a = audit.audit([pub]), audit.audit([pub], "a")
    assert public.status.tolist() == ["narrowed", "narrowed"]  # a total of 4, each >= 1
    assert actor_a.key.tolist() == ["x:b"] and actor_a.status.tolist() == ["recovered"]
    assert audit.audit([_two_cells(4, 2, None)], "a").failures() == 0


def test_actors_sharing_a_cell_learn_nothing_beyond_the_interval(hard):
    pub = publish(hard)  # all actors in one kind: up to three contributors per cell
    assert (np.bincount(pub.contrib_cell) >= 2).sum() > 20
    for actor in audit.actors([pub]):
        result = audit.audit([pub], actor)
        assert result.failures() == 0, result.worst()


def _next_publication(truth, seed: int):
    """A correction (values changed), a withdrawal (contributions gone), a new approval."""
    later = copy.deepcopy(truth)
    keys = sorted(later.values)
    for key in keys[::7]:
        value, bins = later.values[key]
        if bins is None:
            later.values[key] = (value + 1, None)
    for key in keys[3::11]:
        del later.values[key]
    later.values[0, truth.weeks - 1, "polisen"] = (2, None)
    later.values[1, 0, "vaktbolaget"] = (1, np.eye(1, BINS, 2, dtype=np.int64)[0]
                                         + np.eye(1, BINS, 9, dtype=np.int64)[0])  # fmt: skip
    return later


def test_two_publications_jointly(small):
    first = publish(small)
    second = publish(_next_publication(small, 1))
    results = audit.audit_all([first, second])
    for result in results:
        assert result.failures() == 0, (result.attacker, result.worst())
        assert (result.publication == -1).any()  # N's changed figures audited too
    assert results[0].solved > 0  # the cells whose groups span both went to HiGHS


def test_unstable_keys_across_publications_are_refused(hard):
    """The same contributions published with fresh noise (keys not stable): the audit refuses
    the pair instead of passing it."""
    from tests.disclosure import tables

    first = publish(hard)
    old = tables.SECRET
    try:
        tables.SECRET = b"another secret"
        second = publish(hard)
    finally:
        tables.SECRET = old
    assert not np.array_equal(first.published, second.published)
    with pytest.raises(ValueError, match="not stable"):
        audit.audit([first, second])


def test_an_interval_that_excludes_the_truth_is_an_error():
    pub = _two_cells(12, 2, None)  # 12 cannot come from a true 3 with D = 3
    result = audit.audit([pub])
    assert result.status.tolist() == ["error", "protected"]
    assert result.failures() == 1
    assert result.counts()["cells"]["error"] == 1
