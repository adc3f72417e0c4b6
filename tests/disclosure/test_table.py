"""The ``k-anonymity`` process's computation on real numbers, and an attacker of its output.

The attacker here is independent of the package: it reads only what would be released (the
values, ``null`` for a suppressed figure, and the published margins) and solves each
suppressed figure's interval with its own integer programs (scipy's ``milp``), or enumerates
every key of the public perturbation table for the cell key method.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from lagesbild_geo.disclosure import request as checks
from lagesbild_geo.disclosure import table
from lagesbild_geo.disclosure.ptable import KEY_STEPS, build

K = 5
#: The classic 3 × 3 table with row, column and grand totals: the 2 is alone below k in its
#: row and column, so its row total minus the two published cells gives it back exactly.
CLASSIC = [[2, 10, 12], [8, 9, 15], [11, 14, 13]]
MARGINS_2D = [["row"], ["col"], []]
#: Public upper bound of the attacker's integer programs (above every true figure here).
CAP = 10**6


def grid_rows(grid) -> list[dict]:
    return [
        {"row": f"r{i + 1}", "col": f"c{j + 1}", "count": int(c)}
        for i, line in enumerate(grid)
        for j, c in enumerate(line)
    ]


def run(rows, margins, **inputs) -> dict:
    return table.protect(checks.parse_request({"table": rows, "margins": margins, **inputs}))


def generated(shape, lam, seed) -> list[dict]:
    """A table built to be hard: many small cells (Poisson with a small mean), zeros."""
    rng = np.random.default_rng(seed)
    index = np.indices(shape).reshape(len(shape), -1).T
    counts = rng.poisson(lam, len(index))
    return [
        {**{f"d{j}": f"v{v}" for j, v in enumerate(cell)}, "count": int(c)}
        for cell, c in zip(index, counts, strict=True)
    ]


# -- the independent attacker ------------------------------------------------------------------


def public_intervals(result: dict) -> dict[int, tuple[int, float]]:
    """Interval of every suppressed figure (cells first, then the margins' cells in order)
    from the released values alone; ``inf`` when the attacker has no upper bound."""
    cells = result["cells"]
    figures = cells + [c for m in result["margins"] for c in m["cells"]]
    unknown = [i for i, f in enumerate(figures) if f["value"] is None]
    column = {f: j for j, f in enumerate(unknown)}
    rows, rhs = [], []
    n = len(cells)
    offset = n
    for margin in result["margins"]:
        for g, total in enumerate(margin["cells"]):
            members = [
                i for i, c in enumerate(cells)
                if all(c["dims"][d] == total["dims"][d] for d in margin["dimensions"])
            ]  # fmt: skip
            row = np.zeros(len(unknown))
            known = 0
            for i in members:
                if i in column:
                    row[column[i]] = 1
                else:
                    known += cells[i]["value"]
            if offset + g in column:
                row[column[offset + g]] = -1
                value = 0
            else:
                value = total["value"]
            if row.any():
                rows.append(row)
                rhs.append(value - known)
        offset += len(margin["cells"])
    out = {}
    if not unknown:
        return out
    constraints = [LinearConstraint(np.array(rows), rhs, rhs)] if rows else []
    bounds = Bounds(np.ones(len(unknown)), np.full(len(unknown), CAP))
    for f, j in column.items():
        ends = []
        for sense in (1, -1):
            c = np.zeros(len(unknown))
            c[j] = sense
            res = milp(c, constraints=constraints, bounds=bounds, integrality=np.ones(len(c)))
            assert res.status == 0, res.message
            ends.append(round(sense * res.fun))
        out[f] = (ends[0], np.inf if ends[1] >= CAP - len(unknown) else ends[1])
    return out


@functools.cache
def ptable_intervals(d: int, v: float, published: int) -> tuple[int, int]:
    """Every true value that some key turns into ``published`` (all 65,536 keys tried)."""
    t = build(d, v)
    u = (np.arange(KEY_STEPS) + 0.5) / KEY_STEPS
    xs = [x for x in range(max(0, published - d), published + d + 1)
          if (t.perturb(np.full(KEY_STEPS, x), u) == published).any()]  # fmt: skip
    return min(xs), max(xs)


def assert_protected(interval: tuple[float, float], true: int, k: int = K) -> None:
    lo, hi = interval
    assert lo <= true <= hi and lo != hi
    assert lo == 0 or hi - lo + 1 >= k - 1, (interval, true)


# -- suppression ---------------------------------------------------------------------------------


def test_primary_suppression_alone_lets_the_attacker_recover_the_classic_cell():
    released = run(grid_rows(CLASSIC), MARGINS_2D, method="suppression")
    for cell in released["cells"]:  # undo the secondary suppression: primary only
        if cell["status"] == "secondary":
            cell["value"] = CLASSIC[int(cell["dims"]["row"][1]) - 1][
                int(cell["dims"]["col"][1]) - 1
            ]
    assert public_intervals(released) == {0: (2, 2)}


SECRET = "ab" * 32


def test_secondary_suppression_protects_the_classic_table():
    result = run(grid_rows(CLASSIC), MARGINS_2D, method="suppression", secret=SECRET)
    status = [c["status"] for c in result["cells"]]
    assert status[0] == "primary" and status.count("secondary") >= 3  # a rectangle at least
    hidden = [(c["dims"]["row"], c["dims"]["col"]) for c in result["cells"] if c["value"] is None]
    assert len({r for r, _ in hidden}) >= 2 and len({c for _, c in hidden}) >= 2
    attacker = public_intervals(result)
    truth = [c for line in CLASSIC for c in line]
    for i, interval in attacker.items():
        assert_protected(interval, truth[i])
        assert tuple(result["cells"][i]["interval"]) == interval  # the audit agrees
    assert result["summary"]["recovered"] == result["summary"]["narrowed"] == 0
    assert result["summary"]["published_cells"] == 9 - len(hidden)
    # the same secret, the same choice; the choice does not follow the values (a secondary is
    # not simply the smallest candidate: the replay attack of the outside attacker)
    again = run(grid_rows(CLASSIC), MARGINS_2D, method="suppression", secret=SECRET)
    assert again["cells"] == result["cells"]
    patterns = {
        tuple(c["status"] for c in run(grid_rows(CLASSIC), MARGINS_2D, method="suppression",
                                       secret=f"{i:02x}" * 32)["cells"])
        for i in range(12)
    }  # fmt: skip
    assert len(patterns) > 1
    # every margin is published exactly
    assert [m["value"] for m in result["margins"][0]["cells"]] == [24, 32, 38]
    assert result["margins"][2]["cells"][0] == {
        "dims": {}, "value": 94, "status": "published", "interval": [94, 94]}  # fmt: skip


def test_zeros_are_published_and_small_margins_suppressed():
    grid = [[0, 3, 0], [0, 0, 0], [6, 7, 9]]
    result = run(grid_rows(grid), MARGINS_2D, method="suppression")
    zeros = [c for c in result["cells"] if c["value"] == 0]
    assert len(zeros) == 5 and all(c["status"] == "published" for c in zeros)
    rows = {c["dims"]["row"]: c for c in result["margins"][0]["cells"]}
    assert rows["r1"]["status"] == "primary" and rows["r1"]["value"] is None
    assert rows["r2"] == {"dims": {"row": "r2"}, "value": 0, "status": "published",
                          "interval": [0, 0]}  # fmt: skip
    truth = [c for line in grid for c in line]
    truth += [3, 0, 22, 6, 10, 9, 25]
    for i, interval in public_intervals(result).items():
        assert_protected(interval, truth[i])


@pytest.mark.parametrize(
    ("shape", "margins", "seed"),
    [
        ((6, 7), [["d0"], ["d1"], []], 1),
        ((12, 4), [["d0"], ["d1"]], 2),
        ((4, 3, 3), [["d0", "d1"], ["d0", "d2"], ["d1", "d2"], []], 3),
        ((5, 4, 2), [["d0"], ["d1", "d2"], []], 4),
    ],
)
def test_the_attacker_recovers_and_narrows_nothing_in_hard_tables(shape, margins, seed):
    rows = generated(shape, 3.0, seed)
    result = run(rows, margins, method="suppression", secret=SECRET)
    truth = [r["count"] for r in rows]
    for margin in result["margins"]:
        truth += [
            sum(r["count"] for r in rows if all(r[d] == c["dims"][d] for d in margin["dimensions"]))
            for c in margin["cells"]
        ]
    attacker = public_intervals(result)
    assert attacker, "the table has small cells"
    figures = result["cells"] + [c for m in result["margins"] for c in m["cells"]]
    for i, interval in attacker.items():
        assert_protected(interval, truth[i])
        lo, hi = figures[i]["interval"]
        assert lo == interval[0]
        assert hi == interval[1] or (hi is None and interval[1] > 10**5)  # no upper bound
    assert result["summary"]["recovered"] == result["summary"]["narrowed"] == 0


# -- cell key ------------------------------------------------------------------------------------


def test_cell_key_margins_are_sums_of_the_protected_cells():
    rows = generated((8, 6), 4.0, 7)
    result = run(rows, [["d0"], ["d1"], []])
    value = {(c["dims"]["d0"], c["dims"]["d1"]): c["value"] for c in result["cells"]}
    for total in result["margins"][0]["cells"]:
        assert total["value"] == sum(v for (a, _), v in value.items() if a == total["dims"]["d0"])
    assert result["margins"][2]["cells"][0]["value"] == sum(value.values())
    assert {c["status"] for c in result["cells"]} == {"perturbed"}
    deviations = [abs(c["value"] - r["count"]) for c, r in zip(result["cells"], rows, strict=True)]
    d = result["ckm_d"]
    assert max(deviations) <= d and any(deviations)
    assert result["summary"]["max_abs_deviation"] == max(deviations)
    assert all(c["value"] == 0 for c, r in zip(result["cells"], rows, strict=True)
               if r["count"] == 0)  # fmt: skip


def test_cell_key_same_secret_same_noise_and_a_changed_cell_gets_fresh_noise_only_there():
    rows = generated((10, 10), 6.0, 8)
    first = run(rows, [["d0"], []])
    secret = first["secret"]
    assert len(bytes.fromhex(secret)) == checks.SECRET_BYTES
    again = run(rows, [["d0"], []], secret=secret)
    assert again["cells"] == first["cells"] and again["margins"] == first["margins"]
    assert "secret" not in again  # the caller's own secret is not echoed
    other = run(rows, [["d0"], []])
    assert other["secret"] != secret and other["cells"] != first["cells"]
    # a corrected table: one count changed, same secret; the others keep their values
    corrected = [dict(r) for r in rows]
    corrected[17]["count"] += 1
    fixed = run(corrected, [["d0"], []], secret=secret)
    changed = [i for i, (a, b) in enumerate(zip(first["cells"], fixed["cells"], strict=True))
               if a["value"] != b["value"]]  # fmt: skip
    assert set(changed) <= {17}
    # fresh noise for the changed cell: over many corrections, not always "old value + 1"
    moved = set()
    for i in range(30):
        corrected = [dict(r) for r in rows]
        corrected[i]["count"] += 1
        new = run(corrected, [], secret=secret)["cells"][i]["value"]
        moved.add(new - first["cells"][i]["value"])
    assert len(moved) > 1


def test_the_column_order_does_not_change_the_keys():
    rows = generated((4, 4), 5.0, 9)
    secret = "ab" * 32
    swapped = [{"count": r["count"], "d1": r["d1"], "d0": r["d0"]} for r in rows]
    a = run(rows, [], secret=secret)["cells"]
    b = run(swapped, [], secret=secret)["cells"]
    assert [c["value"] for c in a] == [c["value"] for c in b]


@pytest.mark.parametrize("k", [3, 4, 5, 7])
def test_cell_key_intervals_are_what_every_key_of_the_public_table_allows(k):
    rows = generated((20, 10), 3.0, k)
    result = run(rows, [["d0"]], k=k)
    d, v = result["ckm_d"], result["ckm_v"]
    for c, r in zip(result["cells"], rows, strict=True):
        lo, hi = ptable_intervals(d, v, c["value"])
        assert c["interval"] == [lo, hi]
        if r["count"] >= 1:
            assert_protected((lo, hi), r["count"], k)
    assert result["summary"]["recovered"] == result["summary"]["narrowed"] == 0


def test_d_1_defaults_to_v_half_because_v_1_would_hardly_ever_keep_a_value():
    assert checks.default_v(1) == 0.5
    # every perturbation keeps at least the table's floor of keys: even V = 1 leaves a
    # published 1 consistent with 1 and 2, never exactly 2
    assert ptable_intervals(1, 1.0, 1) == (1, 2)
    assert ptable_intervals(1, 0.5, 1) == (1, 2)


# -- input ---------------------------------------------------------------------------------------


def test_csv_text_gives_the_same_table_as_json_rows():
    text = "\ufeffrow;col;count\r\n" + "".join(
        f'{r["row"]};"{r["col"]}";{r["count"]}\r\n' for r in grid_rows(CLASSIC)
    )
    a = run(grid_rows(CLASSIC), MARGINS_2D, method="suppression", secret=SECRET)
    b = run(text, MARGINS_2D, method="suppression", secret=SECRET)
    assert a == b
    tabs = "row\tcol\tantal\n" + "\n".join(
        f"{r['row']}\t{r['col']}\t{r['count']}" for r in grid_rows(CLASSIC)
    )
    tabbed = run(tabs, MARGINS_2D, method="suppression", count_column="antal", secret=SECRET)
    assert tabbed["cells"] == a["cells"]


SECRET_LABEL = "Anna Andersson 19800101"


def _rows_with(**change) -> list[dict]:
    rows = grid_rows(CLASSIC)
    rows[0]["row"] = SECRET_LABEL
    for key, value in change.items():
        index, column = key.rsplit("_", 1)
        rows[int(index.removeprefix("r"))][column] = value
    return rows


BAD = [
    ({"table": _rows_with(r3_count=-1)}, "row 4: a count must be a whole number"),
    ({"table": _rows_with(r3_count=2.5)}, "column 'count', row"),
    ({"table": _rows_with(r3_count="7")}, "a count must be a whole number"),
    ({"table": [*grid_rows(CLASSIC), grid_rows(CLASSIC)[4]]}, "the same cell as row 5"),
    ({"table": [{"row": "a", "col": "b"}]}, "count_column is not a column of the table"),
    ({"table": [*grid_rows(CLASSIC), {"row": "x", "count": 1}]}, "row 10 misses column 'col'"),
    ({"margins": [["week"]]}, "margins item 1 names a dimension the table has not"),
    ({"margins": [["row"], ["row"]]}, "margins item 2 is the same margin"),
    ({"margins": [["row", "col"]]}, "or all of them"),
    ({"margins": "row"}, "must be a list of dimension lists"),
    ({"k": 1}, "Input k must be a whole number 2..15"),
    ({"k": 5, "ckm_d": 2}, "Input ckm_d must be a whole number 3..15"),
    ({"ckm_v": 0}, "Input ckm_v (the variance V) must be a number"),
    ({"method": "suppression", "ckm_d": 3}, "belong to method cell_key"),
    ({"secret": "xyz"}, "Input secret must be 16..64 bytes"),
    ({"method": "noise"}, "Input method must be one of cell_key, suppression"),
    ({"table": "row;col;count\nr1;c1\n"}, "the header has 3 fields"),
    ({"table": ""}, "the CSV text is empty"),
    ({"table": [1, 2]}, "row 1: every row must be a JSON object"),
    ({"tabel": []}, "Unknown input(s) tabel"),
    ({"table": "row;col;count\n\n"}, "no rows below its header"),
    ({"table": "row,col,count\nr1," + "x" * 200_000 + ",1\n"}, "the CSV text cannot be read"),
]


@pytest.mark.parametrize(("change", "message"), BAD)
def test_a_malformed_request_says_what_to_change_without_repeating_a_value(change, message):
    inputs = {"table": _rows_with(), "margins": MARGINS_2D} | change
    with pytest.raises(checks.TableError) as caught:
        checks.parse_request(inputs)
    assert message in str(caught.value)
    assert SECRET_LABEL not in str(caught.value) and "xyz" not in str(caught.value)


def test_too_many_cells_dimensions_or_a_large_total_are_refused_with_the_limit():
    rows = generated((51, 50), 1.0, 1)
    limit = checks.MAX_CELLS["suppression"]
    with pytest.raises(checks.TableTooLargeError, match=f"at most {limit:,} are protected"):
        checks.parse_request({"table": rows, "margins": [], "method": "suppression"})
    wide = [{f"d{j}": "a" for j in range(checks.MAX_DIMENSIONS + 1)} | {"count": 1}]
    with pytest.raises(checks.TableTooLargeError, match="7 dimensions"):
        checks.parse_request({"table": wide, "margins": []})
    big = [{"a": "x", "count": checks.MAX_COUNT}, {"a": "y", "count": 1}]
    with pytest.raises(checks.TableError, match="total is above"):
        checks.parse_request({"table": big, "margins": []})


def test_suppression_that_takes_too_long_is_refused_with_advice():
    request = checks.parse_request(
        {"table": grid_rows(CLASSIC), "margins": MARGINS_2D, "method": "suppression"}
    )
    with pytest.raises(checks.TableTooLargeError, match="use method cell_key"):
        table.protect(request, seconds=0)


def test_every_input_has_texts_and_a_schema():
    assert tuple(checks.INPUT_TEXTS) == checks.INPUTS == tuple(checks.input_schema())


# -- sizes and times (printed: the limits in request.py rest on these) ----------------------------


def test_a_table_at_the_synchronous_limit_is_protected_in_seconds():
    timings = []
    for method, shape in (("suppression", (10, 10)), ("cell_key", (100, 100))):
        rows = generated(shape, 6.0, 11)
        assert len(rows) == checks.SYNC_CELLS[method]
        start = time.perf_counter()
        result = run(rows, [["d0"], ["d1"], []], method=method)
        timings.append((method, len(rows), time.perf_counter() - start, result["summary"]))
    for method, cells, seconds, summary in timings:
        print(f"{method}: {cells:,} cells in {seconds:.2f} s, published share "
              f"{summary['published_share']}, secondary {summary['secondary']}")  # fmt: skip
        assert seconds < 20
