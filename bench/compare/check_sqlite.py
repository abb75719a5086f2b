#!/usr/bin/env python3
"""check_sqlite.py - the four TSBS-style fleet queries answered by
`strata query` and by SQLite over the same data, compared value by value.

    bench/compare/check_sqlite.py --strata build/strata [--trucks 20] [--workdir DIR]

It generates the fleet with `strata gen fleet`, ingests it with `strata
ingest`, loads the same line protocol into an in-memory SQLite table
points(name, fleet, measurement, field, ts, value), runs

  q1  last reading (every readings field) per truck
  q2  hourly mean fuel_consumption of truck_0 over the day
  q3  hourly max velocity of all trucks, by fleet, over the day
  q4  raw velocity of truck_0 for the middle hour

both ways, and compares: means within 1e-9 relative, everything else
exactly.  Prints one line per query and exits 1 on any difference.
A benchmark-time tool (Python 3 with its sqlite3 module); the test suite
does not need it.
"""
import argparse
import csv
import io
import os
import sqlite3
import subprocess
import sys
import tempfile

HOUR = 3600 * 10**9
T0 = 1704110400 * 10**9  # 2024-01-01T12:00:00Z, the generator's default start
READINGS = ("latitude", "longitude", "elevation", "velocity", "heading", "grade",
            "fuel_consumption")


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True, **kw).stdout


def strata_rows(strata, db, q):
    out = run([strata, "query", db, q, "--format", "csv", "--epoch", "ns"])
    r = list(csv.reader(io.StringIO(out)))
    return r[0], r[1:]


def load_sqlite(lp_path):
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE points(name TEXT, fleet TEXT, measurement TEXT, field TEXT,"
                " ts INTEGER, value REAL)")
    rows = []
    with open(lp_path) as f:
        for line in f:
            head, fields, ts = line.rstrip("\n").split(" ")
            parts = head.split(",")
            tags = dict(p.split("=", 1) for p in parts[1:])
            for kv in fields.split(","):
                k, v = kv.split("=", 1)
                rows.append((tags["name"], tags["fleet"], parts[0], k, int(ts),
                             float(v[:-1] if v.endswith("i") else v)))
            if len(rows) > 200000:
                con.executemany("INSERT INTO points VALUES (?,?,?,?,?,?)", rows)
                rows = []
    con.executemany("INSERT INTO points VALUES (?,?,?,?,?,?)", rows)
    con.execute("CREATE INDEX p ON points(measurement, field, name, ts)")
    return con


def same(a, b, rel):
    a, b = float(a), float(b)
    if rel == 0:
        return a == b
    return abs(a - b) <= rel * max(1.0, abs(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--strata", default="build/strata")
    ap.add_argument("--trucks", type=int, default=20)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="strata-sqlite-")
    lp, db = os.path.join(work, "fleet.lp"), os.path.join(work, "db")
    if not os.path.exists(lp):
        run([a.strata, "gen", "fleet", "--trucks", str(a.trucks), "-o", lp],
            stderr=subprocess.DEVNULL)
    if not os.path.exists(db):
        run([a.strata, "ingest", db, "--quiet", lp])
    con = load_sqlite(lp)
    t1 = T0 + 24 * HOUR
    q4a = T0 + 12 * HOUR
    bad = 0

    # q1: the last value of every readings field, per truck
    head, rows = strata_rows(a.strata, db, "SELECT last(*) FROM readings GROUP BY name")
    col = {h: i for i, h in enumerate(head)}
    n = diffs = 0
    for r in rows:
        for f in READINGS:
            want = con.execute(
                "SELECT value FROM points WHERE measurement='readings' AND field=? AND name=?"
                " ORDER BY ts DESC LIMIT 1", (f, r[col["name"]])).fetchone()[0]
            n += 1
            if not same(r[col["last(%s)" % f]], want, 0):
                diffs += 1
    want_trucks = con.execute("SELECT count(DISTINCT name) FROM points").fetchone()[0]
    ok = diffs == 0 and len(rows) == want_trucks
    print("q1 last per truck:      %d trucks x %d fields, %d differences%s" %
          (len(rows), len(READINGS), diffs, "" if ok else "  FAIL"))
    bad += not ok

    # q2: hourly mean of one truck
    head, rows = strata_rows(a.strata, db, (
        "SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_0' AND time >= %d "
        "AND time < %d GROUP BY time(1h)") % (T0, t1))
    want = con.execute(
        "SELECT ? + (ts - ?) / ? * ?, avg(value) FROM points WHERE measurement='readings' AND "
        "field='fuel_consumption' AND name='truck_0' AND ts >= ? AND ts < ? GROUP BY 1 ORDER BY 1",
        (T0, T0, HOUR, HOUR, T0, t1)).fetchall()
    ok = len(rows) == len(want) and all(
        int(r[0]) == w[0] and same(r[1], w[1], 1e-9) for r, w in zip(rows, want))
    print("q2 hourly mean, 1 truck: %d rows, %s" % (len(rows), "equal (1e-9)" if ok else "FAIL"))
    bad += not ok

    # q3: hourly max by fleet
    head, rows = strata_rows(a.strata, db, (
        "SELECT max(velocity) FROM readings WHERE time >= %d AND time < %d "
        "GROUP BY time(1h), fleet") % (T0, t1))
    want = con.execute(
        "SELECT fleet, ? + (ts - ?) / ? * ?, max(value) FROM points WHERE measurement='readings'"
        " AND field='velocity' AND ts >= ? AND ts < ? GROUP BY 1, 2 ORDER BY 1, 2",
        (T0, T0, HOUR, HOUR, T0, t1)).fetchall()
    ok = len(rows) == len(want) and all(
        r[1] == w[0] and int(r[0]) == w[1] and same(r[2], w[2], 0) for r, w in zip(rows, want))
    print("q3 hourly max by fleet:  %d rows, %s" % (len(rows), "equal" if ok else "FAIL"))
    bad += not ok

    # q4: one hour raw
    head, rows = strata_rows(a.strata, db, (
        "SELECT velocity FROM readings WHERE name = 'truck_0' AND time >= %d AND time < %d")
        % (q4a, q4a + HOUR))
    want = con.execute(
        "SELECT ts, value FROM points WHERE measurement='readings' AND field='velocity' AND "
        "name='truck_0' AND ts >= ? AND ts < ? ORDER BY ts", (q4a, q4a + HOUR)).fetchall()
    ok = len(rows) == len(want) and all(
        int(r[0]) == w[0] and same(r[1], w[1], 0) for r, w in zip(rows, want))
    print("q4 raw hour, 1 truck:    %d rows, %s" % (len(rows), "equal" if ok else "FAIL"))
    bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
