#!/usr/bin/env python3
"""compare.py - Strata side by side with InfluxDB, VictoriaMetrics, Prometheus
and SQLite, on the same data, on this machine, in one run (`make compare`).

    bench/compare/compare.py --build build [--scale small|default|full]
        [--trucks N] [--hosts N] [--workloads fleet,devops,nab,beijing]
        [--peers influxdb,victoriametrics,prometheus,sqlite] [--runs 5]
        [--fixtures ../shared/fixtures] [--work /tmp/strata-compare]
        [--md FILE] [--results bench/RESULTS.md]

Workloads: the fleet (`strata gen fleet`), devops (`strata gen devops`),
on request the flaky-uplink fleet (`strata gen flaky`: load and bytes only),
and the NAB and Beijing air-quality fixtures when present (turned into line
protocol, sorted by time, duplicates of one series and time removed, so
every system gets the same points).  Every system loads the same line
protocol file.  For each workload: bytes per value on disk at rest, load
speed in values/s, peak RSS while loading; on the fleet also the four
queries (median of --runs), whose answers (row count and value sum) must
equal Strata's for every peer, or the run fails.

Prints one table and writes it as Markdown (--md); with --results, also
replaces the `make compare` section of that file.  Python 3 stdlib only.
Exit status: 0, 1 when a peer's answers differ from Strata's or a step
failed, 2 for usage errors.
"""
import argparse
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HOUR_NS = 3_600_000_000_000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = ("influxdb", "victoriametrics", "prometheus", "sqlite")
PEER_TITLE = {"strata": "Strata", "influxdb": "InfluxDB", "victoriametrics": "VictoriaMetrics",
              "prometheus": "Prometheus", "sqlite": "SQLite"}
SCALES = {  # fleet trucks, devops hosts; sqlite on by default only where it is quick
    "small": (20, 10, True),
    "default": (200, 100, False),
    "full": (1000, 1000, False),
}
PORTS = {"influxdb": 28086, "victoriametrics": 28428, "prometheus": 29090}
RUNRSS = None   # the runrss binary, set in main()
BATCH = 5000    # lines per HTTP POST, as the reference scripts
CLIENTS = 2     # concurrent POST clients


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class Failure(Exception):
    pass


# ---------------------------------------------------------------- processes
_children = []


def start(cmd, logpath):
    """A server in the background, logged; stopped by PID at exit."""
    out = open(logpath, "w")
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _children.append(p)
    log("started pid %d: %s" % (p.pid, " ".join(cmd)))
    return p


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            log("pid %d did not stop, SIGKILL" % p.pid)
            p.kill()
            p.wait()
    if p in _children:
        _children.remove(p)


def stop_all(*_):
    for p in list(_children):
        stop(p)
    if _:
        sys.exit(130)


def timed(cmd, stdin=None):
    """Run cmd through runrss (see runrss.c: a command forked from this large
    Python process would report its size); (wall seconds, peak RSS MiB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as res:
        p = subprocess.run([RUNRSS, res.name] + cmd, stdin=stdin, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise Failure("%s failed (%d): %s" % (" ".join(cmd[:3]), p.returncode,
                                                  p.stderr.decode(errors="replace").strip()[-500:]))
        wall, kib, _ = res.read().split()
    return float(wall), int(kib) / 1024.0


def vm_hwm(pid):
    """Peak RSS (VmHWM) of a running process, MiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return None


def port_free(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        raise Failure("port %d on 127.0.0.1 is in use (a stale server?)" % port)
    finally:
        s.close()


def du(path):
    """Allocated bytes of a file or tree (st_blocks * 512, as du counts)."""
    if os.path.isfile(path):
        return os.lstat(path).st_blocks * 512
    total = 0
    for root, _, files in os.walk(path):
        for fn in files:
            try:
                total += os.lstat(os.path.join(root, fn)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


# ---------------------------------------------------------------- http
def http_get(base, path, timeout=600):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def wait_ready(base, path, proc, timeout=120):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise Failure("server exited with %s during start" % proc.returncode)
        try:
            if 200 <= http_get(base, path, timeout=5)[0] < 300:
                return
        except OSError:
            pass
        time.sleep(0.25)
    raise Failure("%s%s not ready after %d s" % (base, path, timeout))


def post_file(url, path):
    """POST a line-protocol file in BATCH-line batches from CLIENTS keep-alive
    clients; the file is split before the clock starts.  Returns seconds from
    the first byte sent to the last batch acknowledged."""
    with open(path, "rb") as f:
        lines = f.read().splitlines(keepends=True)
    batches = [b"".join(lines[i:i + BATCH]) for i in range(0, len(lines), BATCH)]
    del lines
    u = urllib.parse.urlsplit(url)
    target = u.path + "?" + u.query
    state = {"next": 0, "errors": []}
    lock = threading.Lock()
    ready = threading.Barrier(CLIENTS + 1)

    def client():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
        c.connect()
        ready.wait()
        while True:
            with lock:
                i = state["next"]
                state["next"] += 1
            if i >= len(batches):
                break
            for attempt in range(6):
                try:
                    c.request("POST", target, body=batches[i],
                              headers={"Content-Type": "text/plain; charset=utf-8"})
                    r = c.getresponse()
                    msg = r.read()
                    if 200 <= r.status < 300:
                        break
                    err = "HTTP %d %s" % (r.status, msg[:200])
                except (OSError, http.client.HTTPException) as e:
                    err = repr(e)
                    c.close()
                    c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
                time.sleep(0.1 * 2 ** attempt)
            else:
                with lock:
                    state["errors"].append(err)
        c.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    el = time.perf_counter() - t0
    if state["errors"]:
        raise Failure("%d batches failed: %s" % (len(state["errors"]), state["errors"][0]))
    return el


# ---------------------------------------------------------------- workloads
def lp_escape_tag(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def fixture_lp(kind, fixtures, out):
    """NAB or Beijing as line protocol sorted by time, one value per series and
    time (the last one of the file order); returns (values, meta)."""
    csv = subprocess.run([os.path.join(ROOT, "bench", "fixtures_csv.sh"), kind,
                          os.path.join(fixtures, "nab" if kind == "nab" else "beijing-aq")],
                         check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()
    head = csv[0].split(",")
    rows = {}
    for i, line in enumerate(csv[1:]):
        cells = line.split(",")
        if kind == "nab":
            name, ts, value = cells
            t = datetime.datetime.strptime(ts, "%Y-%m-%d %H:%M:%S").replace(
                tzinfo=datetime.timezone.utc)
            key = "nab,file=" + lp_escape_tag(name)
            fields = {"value": value}
        else:
            t = datetime.datetime.fromisoformat(cells[0])
            key = "aq,station=" + lp_escape_tag(cells[1])
            fields = {re.sub(r"[^A-Za-z0-9_]", "_", h): v for h, v in zip(head[2:], cells[2:])}
        ns = int(t.timestamp()) * 1_000_000_000
        for f, v in fields.items():
            if v in ("", "NA"):
                continue
            float(v)
            rows[(key, f, ns)] = (i, v)
    by_line = {}
    for (key, f, ns), (i, v) in rows.items():
        by_line.setdefault((ns, key), []).append((f, v))
    lines = sorted(by_line)
    with open(out, "w") as o:
        for ns, key in lines:
            o.write("%s %s %d\n" % (key, ",".join("%s=%s" % fv for fv in sorted(by_line[(ns, key)])), ns))
    times = [ns for ns, _ in lines]
    meta = {"values": len(rows), "lines": len(lines), "start_ns": min(times),
            "end_ns": max(times) + 1, "generator": "bench/compare fixture_lp " + kind}
    with open(out + ".meta.json", "w") as f:
        json.dump(meta, f)
    return meta


def prepare(a, name, data):
    """Generate (or reuse) the workload's line protocol; (path, meta)."""
    lp = os.path.join(data, name + ".lp")
    spec = {"fleet": ["gen", "fleet", "--trucks", str(a.trucks)],
            "flaky": ["gen", "flaky", "--trucks", str(a.trucks)],
            "devops": ["gen", "devops", "--hosts", str(a.hosts)]}.get(name)
    stamp = lp + ".args"
    want = json.dumps(spec or [name, os.path.abspath(a.fixtures)])
    if not (os.path.exists(lp) and os.path.exists(lp + ".meta.json") and
            os.path.exists(stamp) and open(stamp).read() == want):
        log("preparing %s" % lp)
        if spec:
            subprocess.run([a.strata] + spec + ["-o", lp], check=True, stderr=subprocess.DEVNULL)
        else:
            fixture_lp(name, a.fixtures, lp)
        with open(stamp, "w") as f:
            f.write(want)
    with open(lp + ".meta.json") as f:
        return lp, json.load(f)


def warm(path):
    """Read a file once, untimed, so that it is in the page cache."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def code_files(exe):
    """An executable and the shared libraries it loads (from ldd), which
    warm() puts in the page cache before a timed `strata` run."""
    out = subprocess.run(["ldd", exe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    libs = re.findall(r"(/\S+) \(0x", out)
    return [exe] + [x for x in libs if os.path.isfile(x)]


def sent(meta):
    """Values in the file: the flaky fleet sends some twice (its "values" are
    the distinct ones, which bytes/value divides by)."""
    return meta.get("values_sent", meta["values"])


# ---------------------------------------------------------------- the four fleet queries
def windows(meta):
    t0 = meta["start_ns"]
    hours = (meta["end_ns"] - t0) // HOUR_NS
    q4a = t0 + (hours // 2) * HOUR_NS
    return t0, t0 + hours * HOUR_NS, q4a, q4a + HOUR_NS


def strata_queries(meta):
    t0, t1, a4, b4 = windows(meta)
    return [
        ("q1", "SELECT last(*) FROM readings GROUP BY name"),
        ("q2", "SELECT mean(fuel_consumption) FROM readings WHERE name = 'truck_0' AND "
               "time >= %d AND time < %d GROUP BY time(1h)" % (t0, t1)),
        ("q3", "SELECT max(velocity) FROM readings WHERE time >= %d AND time < %d "
               "GROUP BY time(1h), fleet" % (t0, t1)),
        ("q4", "SELECT velocity FROM readings WHERE name = 'truck_0' AND time >= %d AND "
               "time < %d" % (a4, b4)),
    ]


def influx_queries(meta):
    t0, t1, a4, b4 = windows(meta)
    return [
        ("q1", 'SELECT * FROM "readings" GROUP BY "name" ORDER BY time DESC LIMIT 1'),
        ("q2", 'SELECT mean("fuel_consumption") FROM "readings" WHERE "name" = \'truck_0\' '
               'AND time >= %d AND time < %d GROUP BY time(1h)' % (t0, t1)),
        ("q3", 'SELECT max("velocity") FROM "readings" WHERE time >= %d AND time < %d '
               'GROUP BY time(1h), "fleet"' % (t0, t1)),
        ("q4", 'SELECT "velocity" FROM "readings" WHERE "name" = \'truck_0\' '
               'AND time >= %d AND time < %d' % (a4, b4)),
    ]


def prom_queries(meta):
    """PromQL windows are (t-1h, t]: evaluating at bucket start + 1h - 1 ms
    selects the same [start, start + 1h) samples as GROUP BY time(1h)."""
    t0, t1, a4, b4 = windows(meta)
    s = lambda ns: "%.3f" % (ns / 1e9)
    rng = {"start": s(t0 + HOUR_NS - 1_000_000), "end": s(t1 - 1_000_000), "step": "3600"}
    return [
        ("q1", "/api/v1/query", {"query": '{__name__=~"readings_.*"}', "time": s(t1)}),
        ("q2", "/api/v1/query_range",
         dict(rng, query='avg_over_time(readings_fuel_consumption{name="truck_0"}[1h])')),
        ("q3", "/api/v1/query_range",
         dict(rng, query="max by (fleet) (max_over_time(readings_velocity[1h]))")),
        ("q4", "/api/v1/query", {"query": 'readings_velocity{name="truck_0"}[1h]',
                                 "time": s(b4 - 1_000_000)}),
    ]


READINGS = ("latitude", "longitude", "elevation", "velocity", "heading", "grade",
            "fuel_consumption")


def summarize_influx(doc):
    n, tot = 0, 0.0
    for res in doc.get("results", []):
        if "error" in res:
            raise Failure(res["error"])
        for ser in res.get("series", []):
            idx = [i for i, c in enumerate(ser["columns"]) if c in READINGS or c in ("mean", "max")]
            for row in ser["values"]:
                for i in idx:
                    if row[i] is not None:
                        n += 1
                        tot += row[i]
    return n, tot


def summarize_prom(doc):
    if doc.get("status") != "success":
        raise Failure(str(doc)[:300])
    n, tot = 0, 0.0
    for ser in doc["data"]["result"]:
        if "value" in ser:
            n += 1
            tot += float(ser["value"][1])
        for _, v in ser.get("values", []):
            n += 1
            tot += float(v)
    return n, tot


def time_http(base, reqs, runs, summarize):
    u = urllib.parse.urlsplit(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    out = {}
    for name, path, params in reqs:
        url = path + "?" + urllib.parse.urlencode(params)
        ms = []
        for _ in range(runs):
            t = time.perf_counter()
            c.request("GET", url)
            r = c.getresponse()
            body = r.read()
            ms.append((time.perf_counter() - t) * 1000)
            if r.status != 200:
                raise Failure("%s: HTTP %d %s" % (name, r.status, body[:300]))
        rows, tot = summarize(json.loads(body))
        out[name] = {"median_ms": statistics.median(ms), "all_ms": ms, "rows": rows, "sum": tot}
    c.close()
    return out


# ---------------------------------------------------------------- the systems
def run_strata(a, wl, lp, meta, work):
    db = os.path.join(work, "strata-" + wl)
    shutil.rmtree(db, ignore_errors=True)
    opts = {"fleet": ["--device-tag", "name"], "flaky": ["--device-tag", "name"], "devops": ["--device-tag", "hostname"],
            "nab": ["--device-tag", "file", "--partition", "30d"],
            "beijing": ["--device-tag", "station", "--partition", "30d"]}[wl]
    secs, rss = timed([a.strata, "ingest", db, "--quiet"] + opts + [lp])
    r = {"values_per_s": sent(meta) / secs, "ingest_s": secs, "ingest_rss_mb": rss,
         "rss_mb": rss}
    if a.compact:
        csecs, crss = timed([a.strata, "compact", db])
        r.update(compact_s=csecs, compact_rss_mb=crss, rss_mb=max(rss, crss))
    r["disk_bytes"] = du(db)
    if wl == "fleet":
        qs = strata_queries(meta)
        out = subprocess.run([a.qtime, db, str(a.runs)] + ["%s=%s" % q for q in qs], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
        r["queries"] = json.loads(out)
        cli = {}
        for name, text in qs:
            ms = []
            for _ in range(a.runs):
                t = time.perf_counter()
                res = subprocess.run([a.strata, "query", db, text, "--format", "csv",
                                      "--epoch", "ns"], check=True, stdout=subprocess.PIPE,
                                     text=True)
                ms.append((time.perf_counter() - t) * 1000)
            rows, tot = 0, 0.0
            for line in res.stdout.splitlines()[1:]:
                for cell in line.split(",")[1:]:
                    try:
                        v = float(cell)
                    except ValueError:
                        continue
                    rows += 1
                    tot += v
            cli[name] = {"median_ms": statistics.median(ms), "all_ms": ms, "rows": rows,
                         "sum": tot}
        r["cli_queries"] = cli
    shutil.rmtree(db, ignore_errors=True)
    return r


def run_influxdb(a, wl, lp, meta, work):
    d = os.path.join(work, "influxdb")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    port = PORTS["influxdb"]
    base = "http://127.0.0.1:%d" % port
    conf = os.path.join(d, "influxdb.conf")
    # Loopback only, no usage reporting, no _internal store, no continuous
    # queries; tsm1 + inmem index (the defaults).  The cold durations only
    # make the snapshot and full compaction that a default install does after
    # 10 min / 4 h of write silence happen within seconds.
    with open(conf, "w") as f:
        f.write("""reporting-disabled = true
bind-address = "127.0.0.1:%d"
[meta]
  dir = "%s/meta"
[data]
  dir = "%s/data"
  wal-dir = "%s/wal"
  index-version = "inmem"
  query-log-enabled = false
  cache-snapshot-write-cold-duration = "5s"
  compact-full-write-cold-duration = "15s"
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:%d"
  log-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
""" % (port + 2, d, d, d, port))
    port_free(port)
    port_free(port + 2)
    p = start(["influxd", "-config", conf], os.path.join(d, "influxd.log"))
    try:
        wait_ready(base, "/ping", p)
        http_get(base, "/query?" + urllib.parse.urlencode({"q": "CREATE DATABASE bench"}))
        secs = post_file(base + "/write?db=bench&precision=ns", lp)
        settled = settle(lambda: influx_busy(base), os.path.join(d, "data"), 20)
        r = {"values_per_s": sent(meta) / secs, "ingest_s": secs, "settle_s": settled,
             "disk_bytes": du(os.path.join(d, "data")), "rss_mb": vm_hwm(p.pid)}
        if wl == "fleet":
            r["queries"] = time_http(base, [(n, "/query", {"db": "bench", "q": q, "epoch": "ms"})
                                            for n, q in influx_queries(meta)],
                                     a.runs, summarize_influx)
            _, body = http_get(base, "/query?" + urllib.parse.urlencode(
                {"db": "bench", "q": "SELECT count(*) FROM /.*/"}))
            r["stored_values"] = sum(x for res in json.loads(body)["results"]
                                     for s in res.get("series", []) for row in s["values"]
                                     for x in row[1:] if isinstance(x, (int, float)))
        return r
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


def influx_busy(base):
    d = json.loads(http_get(base, "/debug/vars")[1])
    why = []
    for k, v in d.items():
        vals = v.get("values", {}) if isinstance(v, dict) else {}
        if k.startswith("tsm1_cache:") and vals.get("memBytes", 0) > 0:
            why.append("cache")
        if k.startswith("tsm1_engine:"):
            why += [s for s, x in vals.items() if (s.endswith("Active") or s.endswith("Queue")) and x]
    return why


def vm_busy(base):
    why = []
    for line in http_get(base, "/metrics")[1].decode().splitlines():
        if line.startswith(("vm_active_merges", "vm_active_force_merges")):
            if float(line.rsplit(" ", 1)[1]) > 0:
                why.append(line)
    return why


def settle(busy, path, min_wait, timeout=400):
    """Wait until nothing is pending and the size of path is unchanged for 3
    polls 2 s apart, and at least min_wait s have passed; returns the wait."""
    t0 = time.time()
    last, same = None, 0
    while True:
        why = busy()
        size = du(path)
        same = same + 1 if size == last and not why else 0
        last = size
        el = time.time() - t0
        if (same >= 3 and el >= min_wait) or el > timeout:
            if el > timeout:
                log("WARNING: %s did not settle in %d s (%s)" % (path, timeout, why))
            return el
        time.sleep(2)


def run_victoriametrics(a, wl, lp, meta, work):
    d = os.path.join(work, "victoriametrics")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    port = PORTS["victoriametrics"]
    base = "http://127.0.0.1:%d" % port
    port_free(port)
    # No usage reporting exists to disable; no other listener.  100y retention:
    # the fixtures reach back to 2011.  No rollup result cache, so repeated
    # queries are real evaluations.
    p = start(["victoria-metrics", "-storageDataPath=" + os.path.join(d, "data"),
               "-httpListenAddr=127.0.0.1:%d" % port, "-retentionPeriod=100y",
               "-search.disableCache", "-loggerLevel=WARN"], os.path.join(d, "vm.log"))
    try:
        wait_ready(base, "/health", p)
        secs = post_file(base + "/write?precision=ns", lp)
        data = os.path.join(d, "data")
        http_get(base, "/internal/force_flush")
        settled, prev = 0.0, None
        nparts = lambda: sum(1 for root, _, fs in os.walk(data) for f in fs if f == "metaindex.bin")
        for _ in range(5):  # a force_merge skips parts a background merge holds
            http_get(base, "/internal/force_merge")
            settled += settle(lambda: vm_busy(base), data, 5)
            n = nparts()
            if prev is not None and n >= prev:
                break
            prev = n
        r = {"values_per_s": sent(meta) / secs, "ingest_s": secs, "settle_s": settled,
             "parts": n, "disk_bytes": du(data) - du(os.path.join(data, "cache")),
             "rss_mb": vm_hwm(p.pid)}
        if wl == "fleet":
            reqs = [(n_, path, dict(params, nocache="1")) for n_, path, params in prom_queries(meta)]
            r["queries"] = time_http(base, reqs, a.runs, summarize_prom)
        return r
    finally:
        stop(p)
        shutil.rmtree(d, ignore_errors=True)


BLOCK_S = 486 * 3600  # promtool's largest block range, what --max-block-duration=1000h gives


def lp_to_openmetrics(lp, outdir):
    """Line protocol -> OpenMetrics for promtool, one file per 486 h block
    window (promtool reads its whole input once per block it writes, so one
    file for four years of hourly data takes minutes): in each file one gauge
    family per <measurement>_<field>, families contiguous, `# EOF` at the
    end.  Returns the files, in time order."""
    tmp = tempfile.mkdtemp(dir=outdir)
    fams, labels = {}, {}
    with open(lp) as f:
        for line in f:
            key, fields, ts = line.split(" ")
            lab = labels.get(key)
            if lab is None:
                meas, tagstr = key.split(",", 1)
                lab = labels[key] = (meas, "{" + ",".join(
                    '%s="%s"' % tuple(kv.split("=", 1)) for kv in tagstr.split(",")) + "}")
            meas, lbl = lab
            t = int(ts)
            tss = "%d.%03d" % (t // 1_000_000_000, (t // 1_000_000) % 1000)
            window = t // 1_000_000_000 // BLOCK_S
            for kv in fields.split(","):
                k, v = kv.split("=", 1)
                if v[-1] == "i":
                    v = v[:-1]
                name = meas + "_" + k
                o = fams.get((window, name))
                if o is None:
                    o = fams[(window, name)] = open(os.path.join(tmp, "%d.%s" % (window, name)),
                                                    "w", buffering=1 << 18)
                o.write("%s%s %s %s\n" % (name, lbl, v, tss))
    files = []
    for window in sorted({w for w, _ in fams}):
        out = os.path.join(outdir, "data.%d.om" % window)
        with open(out, "wb") as o:
            for name in sorted(n for w, n in fams if w == window):
                fams[(window, name)].close()
                part = os.path.join(tmp, "%d.%s" % (window, name))
                o.write(b"# TYPE %s gauge\n" % name.encode())
                with open(part, "rb") as i:
                    shutil.copyfileobj(i, o, 1 << 22)
                os.remove(part)
            o.write(b"# EOF\n")
        files.append(out)
    os.rmdir(tmp)
    return files


def run_prometheus(a, wl, lp, meta, work):
    d = os.path.join(work, "prometheus")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    tsdb = os.path.join(d, "tsdb")
    t = time.perf_counter()
    oms = lp_to_openmetrics(lp, d)
    convert_s = time.perf_counter() - t
    # One block per 486 h (promtool's largest range, what a long-retention
    # server's compactor reaches): a day of the fleet is one block.
    secs, rss = 0.0, 0.0
    for om in oms:
        s_, r_ = timed(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                        "--max-block-duration=1000h", om, tsdb])
        secs, rss = secs + s_, max(rss, r_)
        os.remove(om)
    r = {"values_per_s": None, "convert_s": convert_s, "backfill_s": secs,
         "backfill_rss_mb": rss, "rss_mb": None, "disk_bytes": du(tsdb),
         "blocks": len([x for x in os.listdir(tsdb) if os.path.isdir(os.path.join(tsdb, x))])}
    try:
        if wl == "fleet":
            port = PORTS["prometheus"]
            base = "http://127.0.0.1:%d" % port
            conf = os.path.join(d, "prometheus.yml")
            open(conf, "w").close()  # no scrape targets; Prometheus has no usage reporting
            port_free(port)
            p = start(["prometheus", "--config.file=" + conf, "--storage.tsdb.path=" + tsdb,
                       "--storage.tsdb.retention.time=100y", "--log.level=warn",
                       "--web.listen-address=127.0.0.1:%d" % port], os.path.join(d, "prom.log"))
            try:
                wait_ready(base, "/-/ready", p)
                r["queries"] = time_http(base, prom_queries(meta), a.runs, summarize_prom)
            finally:
                stop(p)
        return r
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_sqlite(a, wl, lp, meta, work):
    """The reference layout: points(series_id, ts, value) WITHOUT ROWID plus a
    series table, loaded by the sqlite3 CLI's .import (untimed CSV first),
    VACUUMed; queries through Python's sqlite3 module, in-process."""
    import sqlite3
    d = os.path.join(work, "sqlite")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    try:
        series, pcsv, scsv = {}, os.path.join(d, "points.csv"), os.path.join(d, "series.csv")
        with open(lp) as f, open(pcsv, "w") as o:
            for line in f:
                key, fields, ts = line.split(" ")
                meas, tagstr = key.split(",", 1)
                for kv in fields.split(","):
                    k, v = kv.split("=", 1)
                    sid = series.setdefault((meas, tagstr, k), len(series))
                    o.write("%d,%s,%s\n" % (sid, ts.strip(), v.rstrip("i")))
        with open(scsv, "w") as o:
            for (meas, tagstr, k), sid in series.items():
                tags = dict(kv.split("=", 1) for kv in tagstr.split(","))
                o.write("%d,%s,%s,%s,%s\n" % (sid, meas, k, tags["name"], tags["fleet"]))
        db = os.path.join(d, "fleet.db")
        script = """PRAGMA journal_mode=DELETE;
CREATE TABLE series(series_id INTEGER PRIMARY KEY, measurement TEXT, field TEXT, name TEXT, fleet TEXT);
CREATE TABLE points(series_id INTEGER, ts INTEGER, value REAL, PRIMARY KEY(series_id, ts)) WITHOUT ROWID;
.import --csv %s series
.import --csv %s points
VACUUM;
""" % (scsv, pcsv)
        with tempfile.TemporaryFile("w+") as sf:
            sf.write(script)
            sf.seek(0)
            secs, rss = timed(["sqlite3", "-bail", db], stdin=sf)
        r = {"values_per_s": sent(meta) / secs, "ingest_s": secs, "rss_mb": rss,
             "disk_bytes": du(db)}
        t0, t1, a4, b4 = windows(meta)
        con = sqlite3.connect(db)
        con.execute("PRAGMA cache_size=-262144")
        sqls = [
            ("q1", "SELECT p.value FROM series s JOIN points p ON p.series_id = s.series_id "
                   "WHERE s.measurement='readings' AND p.ts = (SELECT max(ts) FROM points "
                   "WHERE series_id = s.series_id)", ()),
            ("q2", "SELECT avg(p.value) FROM points p JOIN series s USING(series_id) WHERE "
                   "s.measurement='readings' AND s.field='fuel_consumption' AND s.name='truck_0' "
                   "AND p.ts >= ? AND p.ts < ? GROUP BY (p.ts - ?) / ?", (t0, t1, t0, HOUR_NS)),
            ("q3", "SELECT max(p.value) FROM points p JOIN series s USING(series_id) WHERE "
                   "s.measurement='readings' AND s.field='velocity' AND p.ts >= ? AND p.ts < ? "
                   "GROUP BY s.fleet, (p.ts - ?) / ?", (t0, t1, t0, HOUR_NS)),
            ("q4", "SELECT p.value FROM points p JOIN series s USING(series_id) WHERE "
                   "s.measurement='readings' AND s.field='velocity' AND s.name='truck_0' AND "
                   "p.ts >= ? AND p.ts < ? ORDER BY p.ts", (a4, b4)),
        ]
        q = {}
        for name, sql, args in sqls:
            ms = []
            for _ in range(a.runs):
                t = time.perf_counter()
                rows = con.execute(sql, args).fetchall()
                ms.append((time.perf_counter() - t) * 1000)
            q[name] = {"median_ms": statistics.median(ms), "all_ms": ms, "rows": len(rows),
                       "sum": sum(x[0] for x in rows)}
        r["queries"] = q
        r["stored_values"] = con.execute("SELECT count(*) FROM points").fetchone()[0]
        con.close()
        return r
    finally:
        shutil.rmtree(d, ignore_errors=True)


RUNNERS = {"strata": run_strata, "influxdb": run_influxdb, "victoriametrics": run_victoriametrics,
           "prometheus": run_prometheus, "sqlite": run_sqlite}


# ---------------------------------------------------------------- report
def fmt(x, kind):
    if x is None:
        return "—"
    if kind == "int":
        return "{:,.0f}".format(x)
    if kind == "bpv":
        return "%.3f" % x
    if kind == "ms":
        return "%.3f" % x if x < 1 else "%.2f" % x if x < 100 else "%.1f" % x
    if kind == "mb":
        return "%.0f" % x
    return str(x)


def same_answer(s, p):
    return s["rows"] == p["rows"] and abs(s["sum"] - p["sum"]) <= 1e-6 * max(1.0, abs(s["sum"]))


def build_table(res, peers):
    """Rows of (workload, metric, strata, {peer: value}, {peer: advantage}, target, verdict)."""
    rows, misses = [], []

    def adv(sv, pv, higher_better):
        if sv is None or pv is None or sv == 0 or pv == 0:
            return None
        return sv / pv if higher_better else pv / sv

    def add(wl, metric, kind, sv, pv, higher_better, target, need):
        advs = {p: adv(sv, pv.get(p), higher_better) for p in peers}
        verdict = "—"
        if need:
            got = [advs.get(p) for p, _ in need]
            if any(g is None for g in got):
                verdict = "n/a"
            else:
                ok = all(g >= want for g, (_, want) in zip(got, need))
                verdict = "PASS" if ok else "MISS"
                if not ok:
                    misses.append("%s %s" % (wl, metric))
        rows.append((wl, metric, fmt(sv, kind), {p: fmt(pv.get(p), kind) for p in peers},
                     {p: ("%.2f×" % advs[p]) if advs[p] is not None else "—" for p in peers},
                     target, verdict))

    for wl, r in res.items():
        s = r.get("strata")
        if not s:
            continue
        vals = r["values"]
        get = lambda k: {p: (r[p].get(k) if r.get(p) else None) for p in peers}
        bpv = {p: (r[p]["disk_bytes"] / vals if r.get(p) else None) for p in peers}
        add(wl, "bytes/value on disk", "bpv", s["disk_bytes"] / vals, bpv, False,
            "< VM and < Prometheus",
            [(p, 1.0 + 1e-12) for p in ("victoriametrics", "prometheus") if p in peers])
        add(wl, "ingest values/s", "int", s["values_per_s"], get("values_per_s"), True,
            "≥ 10× InfluxDB, ≥ 3× VM",
            [(p, w) for p, w in (("influxdb", 10), ("victoriametrics", 3)) if p in peers])
        add(wl, "peak RSS MB (load)", "mb", s["rss_mb"], get("rss_mb"), False, "≤ VM",
            [("victoriametrics", 1.0)] if "victoriametrics" in peers else [])
        if "queries" in s:
            need = [(p, w) for p, w in (("influxdb", 10), ("victoriametrics", 3)) if p in peers]
            for q in ("q1", "q2", "q3", "q4"):
                pv = {p: (r[p]["queries"][q]["median_ms"] if r.get(p) and "queries" in r[p]
                          else None) for p in peers}
                add(wl, "%s ms, in-process" % q, "ms", s["queries"][q]["median_ms"], pv, False,
                    "≥ 10× faster than InfluxDB, ≥ 3× VM", need)
                add(wl, "%s ms, CLI `strata query`" % q, "ms", s["cli_queries"][q]["median_ms"],
                    pv, False, "(same; end to end)", need)
    return rows, misses


def render(rows, peers):
    head = (["workload", "metric", "Strata"] + [PEER_TITLE[p] for p in peers] +
            ["Strata vs %s" % PEER_TITLE[p] for p in peers if p != "sqlite"] + ["target", "result"])
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 4) + ["---", "---"]) + "|"]
    for wl, metric, sv, pv, advs, target, verdict in rows:
        cells = ([wl, metric, sv] + [pv[p] for p in peers] +
                 [advs[p] for p in peers if p != "sqlite"] + [target, "**%s**" % verdict
                                                              if verdict == "MISS" else verdict])
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def check_answers(res, peers):
    """Every peer's q1..q4 (rows, sum) against Strata's in-process and CLI answers."""
    lines, bad = [], 0
    r = res.get("fleet")
    if not r or not r.get("strata"):
        return lines, 0
    s = r["strata"]
    for q in ("q1", "q2", "q3", "q4"):
        ref = s["queries"][q]
        parts = ["%s: Strata %d rows, sum %.4f" % (q, ref["rows"], ref["sum"])]
        for who, ans in [("Strata CLI", s["cli_queries"][q])] + [
                (PEER_TITLE[p], r[p]["queries"][q]) for p in peers
                if r.get(p) and "queries" in r[p]]:
            ok = same_answer(ref, ans)
            bad += not ok
            parts.append("%s %s" % (who, "equal" if ok else "DIFFERENT (%d rows, sum %.4f)" %
                                    (ans["rows"], ans["sum"])))
        lines.append("; ".join(parts))
    stored = ["%s %d" % (PEER_TITLE[p], r[p]["stored_values"]) for p in peers
              if r.get(p) and "stored_values" in r[p]]
    if stored:
        lines.append("values stored (expected %d): %s" % (r["values"], ", ".join(stored)))
        bad += sum(1 for p in peers if r.get(p) and r[p].get("stored_values", r["values"])
                   != r["values"])
    return lines, bad


def why(misses, a):
    """What lies behind each kind of missed target (explanations, no figures)."""
    out = []
    has = lambda s: any(s in m for m in misses)
    if has("bytes/value") and not a.compact:
        out.append("- bytes/value: Strata is measured as `strata ingest` leaves it.  With the "
                   "default 64 MiB head a day of data is flushed as several segments per "
                   "partition, each with shorter chunks and its own index; `bench/disk.sh`, "
                   "with one flush per partition, shows what merged segments store.  "
                   "`strata compact` merges them and this script runs it once the build has it.")
    if has("ingest values/s"):
        out.append("- ingest: Strata's figure is `strata ingest` end to end (parse, log with "
                   "sync=batch, flush to segments, close) on the same 2 shared cores; the "
                   "HTTP peers acknowledge before their compaction (InfluxDB: log and cache; "
                   "VictoriaMetrics: memory only) and their loader is a Python client on the "
                   "same cores.  Every load starts with its input in the page cache (read "
                   "once, untimed) and nothing left to write back (`sync`); Strata's "
                   "executable and libraries are read once too, as the peers' servers are "
                   "started before their timed load.  The write path "
                   "of this build is not 10× InfluxDB's on every workload.")
    if has("peak RSS"):
        out.append("- peak RSS: Strata's peak is mostly the head budget (64 MiB by default: a "
                   "head being flushed and a new one) and the line batches of `strata ingest` "
                   "(50,000 lines or 200,000 values each); `--head-budget` lowers it, at the cost of "
                   "more segments.")
    if has("CLI"):
        out.append("- CLI queries: each `strata query` is a new process (start, open the "
                   "database read-only and replay its log, plan, print), a fixed cost above "
                   "a warm server's whole HTTP round trip for the small queries; the "
                   "in-process rows are the figures of the embedded use.")
    if has("in-process"):
        out.append("- in-process queries: see the per-query rows; the ratio is below the "
                   "target where marked.")
    return out


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = int(open("/proc/meminfo").readline().split()[1]) / 1048576
    return "%d vCPU (%s), %.0f GiB, %s" % (os.cpu_count(), cpu, mem, platform.platform())


def versions():
    v = {}
    for pkg in ("influxdb", "victoria-metrics", "prometheus", "sqlite3"):
        try:
            v[pkg] = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], check=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True).stdout
        except (OSError, subprocess.CalledProcessError):
            v[pkg] = "?"
    return v


def extras(res, peers):
    out = []
    for wl, r in res.items():
        bits = []
        for who in ["strata"] + peers:
            x = r.get(who)
            if not x:
                continue
            e = []
            for k, label in (("ingest_s", "load %.1f s"), ("compact_s", "compact %.1f s"),
                             ("ingest_rss_mb", "ingest RSS %.0f MB"),
                             ("compact_rss_mb", "compact RSS %.0f MB"),
                             ("settle_s", "flush/compaction wait %.0f s"), ("parts", "%d parts"),
                             ("convert_s", "OpenMetrics conversion %.1f s"),
                             ("backfill_s", "promtool backfill %.1f s"),
                             ("backfill_rss_mb", "promtool RSS %.0f MB"), ("blocks", "%d blocks"),
                             ("disk_bytes", "%d bytes")):
                if x.get(k) is not None:
                    e.append(label % x[k])
            bits.append("%s: %s" % (PEER_TITLE[who], ", ".join(e)))
        out.append("- %s (%s values): %s" % (wl, "{:,}".format(r["values"]), "; ".join(bits)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--scale", choices=sorted(SCALES), default="default")
    ap.add_argument("--trucks", type=int)
    ap.add_argument("--hosts", type=int)
    ap.add_argument("--workloads", default="fleet,devops,nab,beijing",
                    help="any of fleet, devops, nab, beijing, flaky")
    ap.add_argument("--peers")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--fixtures", default=os.path.join(os.path.dirname(ROOT), "shared", "fixtures"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "strata-compare"))
    ap.add_argument("--md", help="write the report as Markdown to this file")
    ap.add_argument("--results", help="replace the `make compare` section of this file")
    ap.add_argument("--command", default=" ".join(sys.argv), help=argparse.SUPPRESS)
    a = ap.parse_args()
    trucks, hosts, with_sqlite = SCALES[a.scale]
    a.trucks = a.trucks or trucks
    a.hosts = a.hosts or hosts
    peers = a.peers.split(",") if a.peers else [p for p in PEERS if p != "sqlite" or with_sqlite]
    for p in peers:
        if p not in PEERS:
            ap.error("unknown peer %s" % p)
    for w in a.workloads.split(","):
        if w not in ("fleet", "devops", "nab", "beijing", "flaky"):
            ap.error("unknown workload %s" % w)
    a.strata = os.path.join(a.build, "strata")
    strata_code = code_files(a.strata)
    a.qtime = os.path.join(a.build, "bench", "compare", "qtime")
    global RUNRSS
    RUNRSS = os.path.join(a.build, "bench", "compare", "runrss")
    for b in (a.strata, a.qtime, RUNRSS):
        if not os.access(b, os.X_OK):
            ap.error("%s is missing (make compare builds it)" % b)
    a.compact = subprocess.run([a.strata, "compact", "--help"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL).returncode == 0
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    data = os.path.join(a.work, "data")
    os.makedirs(data, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load = open("/proc/loadavg").read().split()[:3]
    notes, res, failed = [], {}, 0
    if not a.compact:
        notes.append("`strata compact` is not in this build: Strata is measured as `strata "
                     "ingest` leaves it (segments as flushed, not merged).")
    if "sqlite" not in peers:
        notes.append("SQLite is not in this run (by default only at the small scale: it loads "
                     "the fleet at about 0.2 M values/s); add it with "
                     "`--peers influxdb,victoriametrics,prometheus,sqlite`.")
    for wl in a.workloads.split(","):
        if wl in ("nab", "beijing"):
            sub = os.path.join(a.fixtures, "nab" if wl == "nab" else "beijing-aq")
            if not os.path.isdir(sub):
                msg = "%s skipped: no %s (see the README: Data for benchmarks)" % (wl, sub)
                log(msg)
                notes.append(msg)
                continue
        lp, meta = prepare(a, wl, data)
        res[wl] = {"values": meta["values"]}
        skip = {"sqlite"} if wl != "fleet" else set()
        if wl == "flaky":  # promtool rejects out-of-order samples within a block
            skip.add("prometheus")
            notes.append("flaky: Prometheus is not run (`promtool tsdb create-blocks-from "
                         "openmetrics` needs each series in time order); load speed counts "
                         "every value sent (%s), bytes/value the distinct ones; "
                         "VictoriaMetrics keeps the duplicates (no -dedup flag)."
                         % "{:,}".format(sent(meta)))
        for who in ["strata"] + [p for p in peers if p not in skip]:
            log("%s: %s (%s values)" % (wl, who, "{:,}".format(meta["values"])))
            # Every system starts with nothing waiting to be written back: a
            # freshly generated input file (hundreds of MB of dirty pages) or
            # the previous system's files would otherwise be flushed under the
            # next load's fsyncs.  And with its input in the page cache: this
            # VM reclaims cold page cache within minutes, and reading the
            # 611 MB fleet file from the disk alone takes ~1.4 s, which would
            # time the disk rather than the system (Strata's fleet load:
            # 1.3 s cached, 2.0 s with the file evicted).
            # And with its code in memory: the peers' servers are started
            # (untimed) before their load, `strata ingest` is started by
            # the timed command; this VM pages out file pages left alone
            # for a minute (DAMON), so Strata's executable and libraries
            # from the previous workload are gone (~5 major faults, about
            # 20 ms of a 0.4 s Beijing load).
            os.sync()
            warm(lp)
            if who == "strata":
                for path in strata_code:
                    warm(path)
            t = time.time()
            try:
                res[wl][who] = RUNNERS[who](a, wl, lp, meta, a.work)
            except (Failure, OSError, subprocess.CalledProcessError, ValueError, KeyError) as e:
                failed += 1
                log("ERROR %s on %s: %s" % (who, wl, e))
                notes.append("%s on %s failed: %s" % (PEER_TITLE[who], wl, str(e)[:300]))
            log("%s: %s done in %.0f s" % (wl, who, time.time() - t))
    stop_all()
    rows, misses = build_table(res, peers)
    answers, bad = check_answers(res, peers)
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    ver = versions()
    label = a.scale if (a.trucks, a.hosts) == SCALES[a.scale][:2] else "%d trucks, %d hosts" % (
        a.trucks, a.hosts)
    md = ["## Side by side (`make compare`, scale %s)" % label, "",
          "Written by `bench/compare/run.sh`; every figure below comes from the run it "
          "describes.", "",
          "- command: `%s`" % a.command,
          "- date: %s (%.0f s)" % (started.strftime("%Y-%m-%dT%H:%M:%SZ"), elapsed),
          "- machine: %s; load before the run %s" % (machine(), " ".join(load)),
          "- peers: InfluxDB %s, VictoriaMetrics %s, Prometheus %s, SQLite %s (Debian packages)"
          % (ver["influxdb"], ver["victoria-metrics"], ver["prometheus"], ver["sqlite3"]),
          "- workloads: fleet %d trucks × 1 day, devops %d hosts × 1 day, NAB and Beijing from "
          "the fixtures; queries on the fleet, median of %d runs" % (a.trucks, a.hosts, a.runs),
          "", render(rows, peers), "",
          "\"Strata vs X\" is how many times better Strata is: X's bytes, RSS or milliseconds "
          "divided by Strata's, or Strata's values/s divided by X's (above 1: Strata is "
          "better).  The result column checks the targets of issue 6; the CLI query rows "
          "(a process start, open and output per query) are judged against the same targets "
          "for information.", ""]
    if answers:
        md += ["Answers of q1..q4 (row count and value sum, every peer against Strata):", ""]
        md += ["- " + x for x in answers] + [""]
    md += ["Details:", ""] + extras(res, peers) + [""]
    if misses:
        md += ["Targets missed: " + "; ".join(misses) + ".", ""] + why(misses, a) + [""]
    if notes:
        md += ["Notes:", ""] + ["- " + n for n in notes] + [""]
    if bad:
        md += ["**%d answers differ from Strata's: this run FAILS.**" % bad, ""]
    text = "\n".join(md)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
    if a.results:
        begin = "<!-- make compare %s: begin -->" % label
        end = "<!-- make compare %s: end -->" % label
        old = open(a.results).read() if os.path.exists(a.results) else "# Benchmark results\n"
        block = "%s\n%s\n%s" % (begin, text, end)
        if begin in old and end in old:
            new = old[:old.index(begin)] + block + old[old.index(end) + len(end):]
        else:
            new = old.rstrip("\n") + "\n\n" + block + "\n"
        with open(a.results, "w") as f:
            f.write(new)
        log("wrote the compare section of %s" % a.results)
    if bad:
        log("FAIL: %d answers differ from Strata's" % bad)
    return 1 if bad or failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        stop_all()
