"""``lagesbild audit``: the attacker's audit of the publication (issue 12, item 3)."""

from __future__ import annotations

import json
import time

import click

from lagesbild_geo.cli.common import connect, handle_errors, settings_of
from lagesbild_geo.db.connection import database_url
from lagesbild_geo.errors import AuditFailedError


@click.command("audit")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--save",
    type=click.Path(dir_okay=False),
    help="Also save this publication's audit inputs (public figures AND the truth: a "
    "restricted file, written 0600) to audit it with the next publication (--against).",
)
@click.option(
    "--against",
    type=click.Path(dir_okay=False, exists=True),
    help="Audit this publication jointly with the earlier one saved by --save.",
)
@click.option(
    "--actor",
    "actors",
    multiple=True,
    help="Audit as this actor only (repeat); default: the public and every actor.",
)
@click.option(
    "--solver",
    type=click.Choice(["auto", "highs"]),
    default="auto",
    show_default=True,
    help="auto: HiGHS for linked blocks, the exact closed form for a box with one sum; "
    "highs: every figure with HiGHS (slower; the same intervals).",
)
@click.pass_context
@handle_errors
def audit_cmd(ctx, as_json, save, against, actors, solver) -> None:
    """Solve, for every protected figure, the smallest and largest value an attacker can
    prove from everything public, as the public and as each actor (who knows its own
    figures exactly); with --against, from two consecutive publications together.

    Exits 0 only when no figure is recovered or narrowed below the protection interval
    (docs/disclosure.md) and every published figure is derived from the published cells;
    else 6. Needs the database owner's rights: it reads the exact counts.
    """
    from lagesbild_geo.disclosure import audit
    from lagesbild_geo.publish import audit as reader

    started = time.perf_counter()
    with connect(ctx) as conn:
        reading = reader.read_publication(conn)
        analyses = _saved_analyses(conn, database_url(settings_of(ctx)), reading)
    read_s = time.perf_counter() - started
    pubs = [reading.publication]
    if against:
        earlier = reader.load_snapshot(against)
        pubs.insert(0, earlier.publication)
    if save:
        reader.save_snapshot(reading, save)
    started = time.perf_counter()
    try:
        results = audit.audit_all(pubs, list(actors) or None, highs_only=solver == "highs")
    except ValueError as exc:
        raise AuditFailedError(f"The publication contradicts the method: {exc}") from None
    solve_s = time.perf_counter() - started
    rows = audit.table(results)
    failures = sum(r.failures() for r in results) + len(reading.mismatches)
    if as_json:
        click.echo(json.dumps({
            "publication_version": reading.version,
            "against_version": earlier.version if against else None,
            "k": pubs[-1].k, "d": pubs[-1].d, "rows": rows,
            "mismatches": reading.mismatches,
            "derived_situation_figures": reading.derived,
            "saved_analyses_recomputed": analyses,
            "failing": [f | {"attacker": r.attacker} for r in results for f in r.worst()],
            "seconds": {"read": round(read_s, 2), "audit": round(solve_s, 2)},
            "passed": failures == 0,
        }, ensure_ascii=False, indent=2))  # fmt: skip
    else:
        _print_table(rows, reading, pubs, against, read_s, solve_s, results)
        click.echo(
            f"{analyses['same']} saved analysis runs recomputed from the public cells with the"
            f" same result; {analyses['earlier']} made on an earlier publication."
        )
    if failures:
        raise AuditFailedError(
            f"{failures} figure(s) recovered, narrowed or not derived from the published cells"
        )


def _print_table(rows, reading, pubs, against, read_s, solve_s, results) -> None:
    what = f"publication {reading.version}"
    if against:
        what += " with the earlier one saved in " + str(against)
    click.echo(f"Attacker's audit of {what} (k = {pubs[-1].k}, D = {pubs[-1].d}):")
    head = f"| {'figures':20} | {'attacker':24} | {'total':>8} | {'recovered exactly':>17} "
    head += f"| {'narrowed':>8} | {'protected':>9} | {'error':>5} |"
    click.echo(head)
    click.echo("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for r in rows:
        click.echo(
            f"| {r['figures']:20} | {r['attacker']:24} | {r['total']:>8,} | "
            f"{r['recovered']:>17,} | {r['narrowed']:>8,} | {r['protected']:>9,} | "
            f"{r['error']:>5,} |"
        )
    click.echo(
        f"{reading.derived:,} situation figures derived from the published cells; "
        f"{sum(r.solved for r in results):,} figures solved by HiGHS, the rest in closed form."
    )
    for line in reading.mismatches[:20]:
        click.secho(f"  not derived: {line}", fg="red")
    for r in results:
        for f in r.worst(5):
            click.secho(f"  {r.attacker}: {f['kind']} {f['key']} {f['status']} "
                        f"[{f['lo']}, {f['hi']}]", fg="red")  # fmt: skip
    click.echo(f"Read in {read_s:.1f} s, audited in {solve_s:.1f} s.")


#: Saved results and the columns that must come out the same when recomputed.
_SAVED = {"hotspots": ("z", "p", "bin"), "trends": ("tau", "z", "p", "slope_per_week")}


def _saved_analyses(conn, url: str, reading) -> dict:
    """Recompute every saved analysis run the public layers show (hotspots, trends) from the
    public cube, with its saved parameters (and seed), without saving: a result that is not
    what the public cells give would be a figure the audit has not seen, so it is a mismatch
    (added to ``reading.mismatches``). A run made on an earlier publication is counted, not
    recomputed: its cube is no longer the public one."""
    from lagesbild_geo.analysis import run as analysis

    counts = {"same": 0, "earlier": 0}
    # saving a run moves the publication's version too (its ETag), so "made on this
    # publication" is: after the last refresh, which is what changes the figures
    (last_review,) = conn.execute("SELECT refreshed_at FROM publish.state").fetchone()
    for table, columns in _SAVED.items():
        runs = conn.execute(
            f"SELECT DISTINCT r.id, r.process, r.provenance, r.run_at FROM publish.{table} t"
            " JOIN publish.analysis_runs r ON r.id = t.run_id ORDER BY r.id"
        ).fetchall()
        for run_id, process, provenance, run_at in runs:
            if last_review is not None and run_at < last_review:
                counts["earlier"] += 1
                continue
            params = dict(provenance["parameters"], publish=False)
            result = analysis.run(url, process, params)
            fresh = {
                f"{f['properties']['area_code']}:{f['properties']['indicator']}": f["properties"]
                for f in result["features"]
            }
            saved = conn.execute(
                f"SELECT id, {', '.join(columns)} FROM publish.{table} WHERE run_id = %s",
                (run_id,),
            ).fetchall()
            differ = [
                row[0] for row in saved
                if row[0] not in fresh or any(
                    not _same(v, fresh[row[0]].get(c)) for c, v in zip(columns, row[1:],
                                                                       strict=True))
            ]  # fmt: skip
            if differ:
                reading.mismatches.append(
                    f"{table} run {run_id}: {len(differ)} saved figures are not what the public"
                    f" cells give (first: {differ[0]})"
                )
            else:
                counts["same"] += 1
    return counts


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
