#!/usr/bin/env python3
"""Tests of the holeheap command (tools/): replay, size, map, plot, both trace
formats, and every bad-input case giving one error line and a nonzero status.

    usage: test_tool.py /abs/path/to/holeheap
"""
import json
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = os.path.join(HERE, "small.hht")
OPS = {"malloc": 1, "free": 2, "calloc": 3, "realloc": 4, "aligned": 5}
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def run(*args):
    p = subprocess.run([TOOL, *args], capture_output=True, text=True, timeout=120)
    check(p.returncode < 128 and p.returncode >= 0, "no crash: holeheap %s (status %d)" % (" ".join(args), p.returncode))
    return p


def text_calls(path):
    """The calls of a text trace as (op, ptr, a, b, result) tuples."""
    calls, inside = [], False
    for line in open(path):
        words = line.split("#")[0].split()
        if not inside:
            inside = words == ["holeheap-trace", "1"]
            continue
        if words == ["end"]:
            break
        if not words:
            continue
        n = [int(w, 0) for w in words[1:] if w != "="]
        op = words[0]
        shape = {"malloc": lambda: (0, n[0], 0, n[1]), "free": lambda: (n[0], 0, 0, 0),
                 "calloc": lambda: (0, n[0], n[1], n[2]), "realloc": lambda: (n[0], n[1], 0, n[2]),
                 "aligned": lambda: (0, n[0], n[1], n[2])}
        call = shape[op]()
        calls.append((OPS[op],) + call)
    return calls


def write_binary(path, calls):
    with open(path, "wb") as f:
        f.write(b"HHTRACE1" + struct.pack("<II", 1, 40))
        for op, ptr, a, b, result in calls:
            f.write(struct.pack("<B3xIQQQQ", op, 1, ptr, a, b, result))


def write_text(path, calls):
    names = {v: k for k, v in OPS.items()}
    with open(path, "w") as f:
        f.write("boot messages before the trace are ignored\nholeheap-trace 1\n")
        for op, ptr, a, b, result in calls:
            name = names[op]
            f.write({"malloc": "malloc %d = 0x%x" % (a, result), "free": "free 0x%x" % ptr,
                     "calloc": "calloc %d %d = 0x%x" % (a, b, result),
                     "realloc": "realloc 0x%x %d = 0x%x" % (ptr, a, result),
                     "aligned": "aligned %d %d = 0x%x" % (a, b, result)}[name] + "\n")
        f.write("end\n")


def summary(output):
    """replay's summary without its timing line."""
    return [l for l in output.splitlines() if not l.startswith("time:")]


# ---- replay, in both formats ----

def test_replay_small(tmp):
    p = run("replay", SMALL)
    check(p.returncode == 0, "replay of small.hht exits 0")
    check("replayed 8 calls, 0 errors" in p.stdout, "small.hht: 8 calls, 0 errors")
    check("peak live: 1464 bytes" in p.stdout, "small.hht: peak live 1464 bytes (after the realloc to 1000)")
    check(re.search(r"peak span: \d+ bytes .* after call 6:", p.stdout) is not None,
          "small.hht: the span peaks at call 6 (the page-aligned block)")
    check(re.search(r"fragmentation: \d+\.\d\d", p.stdout) is not None, "replay prints the fragmentation")
    check(re.search(r"at the peak span: \d+ free spans inside it .*, the largest \d+ bytes", p.stdout) is not None,
          "replay prints the holes at the peak")
    check(re.search(r"time: \d+ ns per call", p.stdout) is not None, "replay prints ns per call")
    binary = os.path.join(tmp, "small.bin")
    write_binary(binary, text_calls(SMALL))
    q = run("replay", binary)
    check(q.returncode == 0 and summary(q.stdout) == summary(p.stdout),
          "the binary form of small.hht replays exactly as the text form")
    t = run("replay", SMALL, "--index", "table", "--check-every", "1")
    check(t.returncode == 0 and "replayed 8 calls, 0 errors" in t.stdout and "peak live: 1464 bytes" in t.stdout,
          "replay --index table --check-every 1")


def random_trace(seed, count):
    """A program-like trace: mixed sizes, frees in random order, reallocs, aligned and calloc calls."""
    rng = random.Random(seed)
    live, calls, address = [], [], 0x10000
    for _ in range(count):
        r = rng.random()
        if live and r < 0.45:
            calls.append((OPS["free"], live.pop(rng.randrange(len(live))), 0, 0, 0))
            continue
        address += 0x1000
        if live and r < 0.55:
            old = live.pop(rng.randrange(len(live)))
            calls.append((OPS["realloc"], old, rng.choice([24, 200, 3000, 70000]), 0, address))
        elif r < 0.6:
            calls.append((OPS["aligned"], 0, rng.choice([32, 256, 4096]), rng.randrange(1, 5000), address))
        elif r < 0.65:
            calls.append((OPS["calloc"], 0, rng.randrange(1, 50), rng.randrange(1, 100), address))
        else:
            size = int(rng.paretovariate(1.2) * 24) if rng.random() < 0.95 else rng.randrange(1 << 16, 1 << 20)
            calls.append((OPS["malloc"], 0, size, 0, address))
        live.append(address)
    return calls


def test_replay_random(tmp):
    calls = random_trace(11, 20000)
    binary, text = os.path.join(tmp, "random.bin"), os.path.join(tmp, "random.hht")
    write_binary(binary, calls)
    write_text(text, calls)
    p, q = run("replay", binary), run("replay", text)
    check(p.returncode == 0 and "replayed 20000 calls, 0 errors" in p.stdout, "a random 20000-call trace replays cleanly")
    check(summary(p.stdout) == summary(q.stdout), "the random trace replays the same from both formats")
    t = run("replay", binary, "--index", "table")
    peak = lambda out: re.search(r"peak live: (\d+)", out).group(1)
    check(t.returncode == 0 and peak(t.stdout) == peak(p.stdout), "both indexes see the same peak live bytes")
    return binary


def test_serial_noise(tmp):
    """Bytes of any kind before the header line (a serial log's NULs) are skipped."""
    noisy = os.path.join(tmp, "noisy.hht")
    open(noisy, "wb").write(b"\0\0SeaBIOS\0 boot\n\xff\xfe\x01garbage\r\n\0\nholeheap-trace 1\nmalloc 16 = 0x10\n"
                            b"free 0x10\nend\n\0 after the end\n")
    p = run("replay", noisy)
    check(p.returncode == 0 and "replayed 2 calls, 0 errors" in p.stdout,
          "NUL bytes and noise before the header line are skipped: %r" % p.stderr)
    inside = os.path.join(tmp, "nul-inside.hht")
    open(inside, "wb").write(b"holeheap-trace 1\nmalloc 16 = 0x10\n\0\nend\n")
    expect_error(["replay", inside], 2, r"^holeheap: .*line 3: unknown call '\?'", "a NUL inside the trace")


def test_error_totals(tmp):
    """Each call that fails in the replay is one error: a failed realloc keeps its block live, and
    a problem the core reports for a call the replay already counted is not counted again."""
    def trace(name, body):
        path = os.path.join(tmp, name)
        open(path, "w").write("holeheap-trace 1\n" + body + "end\n")
        return path

    grow = trace("grow.hht", "malloc 16 = 0x10\nrealloc 0x10 100000 = 0x20\n")
    for index in ("fast", "table"):
        p = run("replay", grow, "--region", "4096", "--check-every", "1", "--index", index)
        check(p.returncode == 1 and "replayed 2 calls, 1 errors" in p.stdout
              and "at the end: 1 live blocks" in p.stdout,
              "a realloc the replay cannot serve is one error and its block stays live (%s): %r" % (index, p.stdout))
    freed = trace("grow-free.hht", "malloc 16 = 0x10\nrealloc 0x10 100000 = 0x20\nfree 0x20\nmalloc 24 = 0x30\n")
    expect_error(["replay", freed, "--region", "4096"], 1, r"^holeheap: line 3: the replay could not reallocate 0x10",
                 "a failed realloc, then the free of its result: one error")
    p = run("replay", freed, "--region", "4096")
    check("replayed 4 calls, 1 errors" in p.stdout and "at the end: 1 live blocks" in p.stdout,
          "the free after a failed realloc frees the old block: %r" % p.stdout)
    huge = trace("huge-malloc.hht", "malloc 18446744073709551615 = 0x10\nfree 0x10\n")
    expect_error(["replay", huge], 1, r"^holeheap: line 2: the replay could not allocate 18446744073709551615 bytes",
                 "a malloc the core refuses (HH_E_BAD_SIZE) and the free of its address: one error")
    p = run("replay", huge)
    check("replayed 2 calls, 1 errors" in p.stdout, "a refused malloc counts once, got %r" % p.stdout)
    mixed = trace("mixed.hht", "malloc 100000 = 0x10\nrealloc 0x10 20 = 0x30\nfree 0x30\n"
                               "calloc 4294967296 4294967296 = 0x40\nfree 0x40\nfree 0x50\n")
    p = run("replay", mixed, "--region", "4096")
    errors = p.stderr.strip().splitlines()
    check("replayed 6 calls, 3 errors" in p.stdout and len(errors) == 3 and "line 2:" in errors[0]
          and "line 5:" in errors[1] and "line 7: free of 0x50" in errors[2],
          "three failing calls, three errors: %r %r" % (p.stdout, p.stderr))


def test_map_peak_errors(tmp):
    """map --peak replays the whole trace: errors after the peak count, as in replay."""
    late = os.path.join(tmp, "late-error.hht")
    open(late, "w").write("holeheap-trace 1\nmalloc 4000 = 0x10\nfree 0x10\nmalloc 8 = 0x20\nfree 0x99\nend\n")
    r = run("replay", late)
    check(r.returncode == 1, "replay of a trace with an error after its peak exits 1")
    for out in ("late.svg", "late.html"):
        path = os.path.join(tmp, out)
        expect_error(["map", late, "--peak", "-o", path], 1, r"^holeheap: line 5: free of 0x99, which is not a live block",
                     "map --peak -o %s reports an error after the peak and exits 1" % out)
        check(os.path.getsize(path) > 0, "map --peak -o %s still draws the heap" % out)
    svg = os.path.join(tmp, "late-at.svg")
    p = run("map", late, "--at", "2", "-o", svg)
    check(p.returncode == 0 and p.stderr == "", "map --at 2 stops before the error: exit 0, got %d %r" % (p.returncode, p.stderr))


def test_small_items(tmp):
    with open("/dev/full", "w") as full:
        p = subprocess.run([TOOL, "replay", SMALL], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 2 and re.search(r"^holeheap: cannot write to standard output: No space left", p.stderr),
          "replay >/dev/full: an error line and exit 2, got %d %r" % (p.returncode, p.stderr))
    with open("/dev/full", "w") as full:
        p = subprocess.run([TOOL, "help"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 2 and "cannot write to standard output" in p.stderr, "help >/dev/full: exit 2")
    for args in (["help", "--help"], ["--help", "help"], ["help", "-h"]):
        h = run(*args)
        check(h.returncode == 0 and "holeheap replay TRACE" in h.stdout and "holeheap plot TRACE" in h.stdout,
              "holeheap %s prints the help" % " ".join(args))
    h = run("help", "size")
    check(h.returncode == 0 and h.stdout.startswith("usage: holeheap size"), "holeheap help size")
    expect_error(["replay", SMALL, "--region", "0"], 2, r"--region needs a size in bytes above 0", "--region 0")
    expect_error(["replay", tmp], 2, r"^holeheap: %s: is a directory" % re.escape(tmp), "a directory as the trace")
    link = os.path.join(tmp, "full.svg")
    os.symlink("/dev/full", link)
    for args in (["map", SMALL, "--at", "3"], ["map", SMALL, "--peak"], ["plot", SMALL]):
        expect_error(args + ["-o", link], 2, r"cannot write %s: No space left" % re.escape(link),
                     "%s -o a symlink to /dev/full" % args[0])
        check(os.path.islink(link), "%s: a symlink named by -o stays when the write fails" % " ".join(args))
    page = os.path.join(tmp, "full.html")
    os.symlink("/dev/full", page)
    expect_error(["map", SMALL, "--at", "3", "-o", page], 2, r"cannot write", "map -o a symlink to /dev/full (HTML)")
    check(os.path.islink(page), "an HTML page's symlink stays when the write fails")
    partial = os.path.join(tmp, "partial.svg")
    open(partial, "w").write("old")
    check(run("plot", SMALL, "-o", partial).returncode == 0 and os.path.getsize(partial) > 3,
          "plot -o an existing regular file replaces it")


# ---- size ----

def test_size(trace, what):
    p = run("size", trace, "--margin", "10")
    check(p.returncode == 0, "size %s exits 0" % what)
    m = re.search(r"smallest region: (\d+) bytes", p.stdout)
    check(m is not None, "size %s prints the smallest region" % what)
    if m is None:
        return
    region = int(m.group(1))
    check("binary search" in p.stdout and "verified by a final replay" in p.stdout, "size says how it searched")
    check(re.search(r"with a 10% margin: (\d+) bytes \(verified", p.stdout) is not None, "size --margin 10")
    live = int(re.search(r"peak live: (\d+) bytes", p.stdout).group(1))
    check(region > live, "the region %d exceeds the peak live bytes %d" % (region, live))
    ok = run("replay", trace, "--region", str(region))
    check(ok.returncode == 0 and ", 0 errors" in ok.stdout, "%s: a region of %d bytes serves the trace" % (what, region))
    small = run("replay", trace, "--region", str(region - 16))
    check(small.returncode == 1 and "could not allocate" in small.stderr,
          "%s: a region 16 bytes smaller fails an allocation" % what)


# ---- SVG ----

def svg_parse(path, what):
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, "%s parses as XML: %s" % (what, e))
        return None


NS = "{http://www.w3.org/2000/svg}"


def map_spans(root):
    """The map's spans: offset -> (class, size, call, summed piece area in px)."""
    spans = {}
    for r in root.iter(NS + "rect"):
        cls = r.get("class")
        if cls not in ("block", "hole", "control"):
            continue
        off = int(r.get("data-offset"))
        area = float(r.get("width")) * float(r.get("height"))
        prev = spans.get(off, (cls, int(r.get("data-size")), r.get("data-call"), 0.0))
        spans[off] = (cls, prev[1], prev[2], prev[3] + area)
    return spans


def check_map_layout(spans, what):
    offsets = sorted(spans)
    check(offsets[0] == 0 and spans[0][0] == "control", what + ": starts with the control data at offset 0")
    check(all(o + spans[o][1] == n for o, n in zip(offsets, offsets[1:])),
          what + ": spans follow each other in address order with no gap")
    ratios = [spans[o][3] / spans[o][1] for o in offsets if spans[o][1] > 0]
    check(max(ratios) - min(ratios) < 1e-3 * max(ratios), what + ": every span's area is in proportion to its bytes")


def test_map_svg(tmp):
    out = os.path.join(tmp, "at8.svg")
    p = run("map", SMALL, "--at", "8", "-o", out)
    check(p.returncode == 0, "map --at 8 exits 0")
    root = svg_parse(out, "map --at 8")
    if root is None:
        return
    spans = map_spans(root)
    blocks = sorted(int(s[2]) for s in spans.values() if s[0] == "block")
    check(blocks == [5, 6, 7], "map --at 8 shows the blocks of calls 5, 6 and 7, got %s" % blocks)
    check(any(s[0] == "hole" for s in spans.values()), "map --at 8 shows holes")
    check_map_layout(spans, "map --at 8")
    texts = " ".join(t.text or "" for t in root.iter(NS + "text"))
    check("after call 8 of 8" in texts and "block (allocated)" in texts and "free (a hole" in texts,
          "map has its stats and legend")
    out = os.path.join(tmp, "peak.svg")
    run("map", SMALL, "--peak", "-o", out)
    root = svg_parse(out, "map --peak")
    if root is not None:
        blocks = sorted(int(s[2]) for s in map_spans(root).values() if s[0] == "block")
        check(blocks == [1, 3, 5, 6], "map --peak is the heap after call 6: blocks of calls 1, 3, 5, 6, got %s" % blocks)
    out = os.path.join(tmp, "at0.svg")
    run("map", SMALL, "--at", "0", "-o", out)
    root = svg_parse(out, "map --at 0")
    if root is not None:
        kinds = sorted(s[0] for s in map_spans(root).values())
        check(kinds == ["control", "hole"], "map --at 0: the control data and one hole, got %s" % kinds)


def test_map_labels(tmp, trace):
    out = os.path.join(tmp, "random.svg")
    p = run("map", trace, "--at", "12000", "-o", out)
    root = svg_parse(out, "map of the random trace") if p.returncode == 0 else None
    check(root is not None, "map of the random trace")
    if root is None:
        return
    spans = map_spans(root)
    check_map_layout(spans, "map of the random trace")
    labels = [t for t in root.iter(NS + "text") if t.get("class") == "hole-label"]
    check(len(labels) > 0 and all(re.match(r"^[\d.]+ (bytes|KiB|MiB)$", t.text) for t in labels),
          "large holes carry their size as a label")


def html_frames(path):
    """The HTML page's frames, each as the set of blocks (offset, size, call) it shows."""
    text = open(path).read()
    data = json.loads(text[text.index("const HEAP = ") + 13:text.index(";\n</script>")])
    live, shown = {}, []
    for frame in data["frames"]:
        for offset in frame["del"]:
            live.pop(offset, None)
        for s in frame["add"]:
            live[s[0]] = s
        shown.append((frame["call"], {(s[0], s[1], s[3]) for s in live.values() if s[2] == 1}))
    return data, shown


def test_map_html(tmp):
    page = os.path.join(tmp, "map.html")
    p = run("map", SMALL, "--at", "3", "-o", page)
    check(p.returncode == 0, "map -o map.html exits 0")
    data, frames = html_frames(page)
    check(data["start"] == 3 and [f[0] for f in frames] == list(range(9)), "the page has a frame after every call")
    for call, blocks in frames:
        svg = os.path.join(tmp, "f%d.svg" % call)
        run("map", SMALL, "--at", str(call), "-o", svg)
        root = svg_parse(svg, "map --at %d" % call)
        want = {(o, s[1], int(s[2])) for o, s in map_spans(root).items() if s[0] == "block"} if root is not None else None
        check(blocks == want, "the page's frame %d shows the blocks of the SVG map --at %d" % (call, call))


def test_plot(tmp):
    out = os.path.join(tmp, "plot.svg")
    p = run("plot", SMALL, "-o", out)
    check(p.returncode == 0, "plot exits 0")
    root = svg_parse(out, "plot")
    if root is None:
        return
    lines = {l.get("id"): [tuple(map(float, pt.split(","))) for pt in l.get("points").split()]
             for l in root.iter(NS + "polyline")}
    check(sorted(lines) == ["holes", "live", "span"], "plot has the span, live and holes series")
    check(all(len(v) == 9 for v in lines.values()), "each series has a point before the first call and after each of 8")
    live = lines.get("live", [(0, 0)])
    top = min(range(len(live)), key=lambda i: live[i][1])  # SVG y grows downwards
    check(top == 7, "the live bytes peak at call 7 (the realloc to 1000 bytes), got %d" % top)
    span = lines.get("span", [(0, 0)])
    check(min(range(len(span)), key=lambda i: span[i][1]) == 6, "the span peaks at call 6")
    texts = [t.text or "" for t in root.iter(NS + "text")]
    check("calls replayed" in texts and any(t.startswith("bytes") for t in texts) and "holes (inside the span)" in texts,
          "plot has its axis labels")
    check(sum(1 for t in root.iter(NS + "text") if t.get("class") == "tick-label") >= 9, "plot has ticks on its axes")


def test_plot_holes(tmp):
    """The plot's holes: the heap's count (hh_stats_get), the free tail of the region not counted."""
    path = os.path.join(tmp, "holes.hht")
    body = "".join("malloc 4096 = 0x%x\n" % (0x10000 * (i + 1)) for i in range(5))
    open(path, "w").write("holeheap-trace 1\n" + body + "free 0x20000\nfree 0x40000\nend\n")
    out = os.path.join(tmp, "holes.svg")
    check(run("plot", path, "-o", out).returncode == 0, "plot of the holes trace")
    root = svg_parse(out, "plot of the holes trace")
    if root is None:
        return
    holes = [l for l in root.iter(NS + "polyline") if l.get("id") == "holes"][0]
    ys = [float(pt.split(",")[1]) for pt in holes.get("points").split()]
    bottom = ys[0]
    heights = [bottom - y for y in ys]
    check(len(ys) == 8 and all(h == 0 for h in heights[:6]) and heights[6] > 0 and abs(heights[7] - 2 * heights[6]) < 0.2,
          "no holes while blocks are only added, one after the first free, two after the second: %s" % heights)


def test_scale(tmp):
    """300,000 live blocks: plot and map take counts from the heap's totals, and the SVG map merges
    spans narrower than a pixel (one rectangle per run, not per block)."""
    import time
    path = os.path.join(tmp, "many.hht")
    with open(path, "w") as f:
        f.write("holeheap-trace 1\n")
        f.write("".join("malloc 24 = 0x%x\n" % (0x10000 + i * 32) for i in range(300000)))
        f.write("end\n")
    start = time.monotonic()
    p = run("plot", path, "-o", os.path.join(tmp, "many-plot.svg"))
    seconds = time.monotonic() - start
    check(p.returncode == 0 and seconds < 20, "plot of 300,000 live blocks in %.1f s (under 20 s)" % seconds)
    out = os.path.join(tmp, "many-map.svg")
    start = time.monotonic()
    p = run("map", path, "--peak", "-o", out)
    seconds = time.monotonic() - start
    check(p.returncode == 0 and seconds < 20, "map --peak of 300,000 live blocks in %.1f s (under 20 s)" % seconds)
    size = os.path.getsize(out)
    check(size < 1000000, "the SVG map of 300,000 blocks is small (%d bytes)" % size)
    root = svg_parse(out, "map of 300,000 blocks")
    if root is None:
        return
    spans = map_spans(root)
    check_map_layout(spans, "map of 300,000 blocks")
    runs = [r for r in root.iter(NS + "rect") if r.get("data-spans") is not None]
    check(len(runs) > 0 and all(r.get("class") == "block" for r in runs), "the narrow blocks merge into runs")
    counted = {int(r.get("data-offset")): int(r.get("data-spans")) for r in runs}
    check(sum(counted.values()) == 300000, "the runs hold the 300,000 blocks, got %d" % sum(counted.values()))


# ---- bad input ----

def expect_error(args, status, pattern, what):
    p = run(*args)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == status, "%s: exit status %d, got %d" % (what, status, p.returncode))
    check(len(lines) == 1 and re.search(pattern, lines[0]) is not None,
          "%s: one error line matching '%s', got %r" % (what, pattern, p.stderr))


def test_bad_input(tmp):
    calls = text_calls(SMALL)
    good = os.path.join(tmp, "good.bin")
    write_binary(good, calls)
    data = open(good, "rb").read()

    def binary(name, content):
        path = os.path.join(tmp, name)
        open(path, "wb").write(content)
        return path

    def text(name, content):
        path = os.path.join(tmp, name)
        open(path, "w").write(content)
        return path

    bad_op = bytearray(data)
    bad_op[16 + 2 * 40] = 9
    cases = [
        (binary("cut.bin", data[:-10]), r"record 8: truncated \(30 of 40 bytes\)", "a record cut short"),
        (binary("head.bin", data[:10]), r"truncated header: 10 of 16 bytes", "a header cut short"),
        (binary("op.bin", bytes(bad_op)), r"record 3: unknown operation 9", "an unknown operation"),
        (binary("version.bin", data[:8] + struct.pack("<II", 2, 40) + data[16:]), r"unsupported binary trace version",
         "another version"),
        (binary("recsize.bin", data[:12] + struct.pack("<I", 48) + data[16:]), r"record size 48", "another record size"),
        (binary("magic.bin", b"HHTRACE\nmalloc 16 = 0x10\n"), r"unsupported binary trace version \(magic HHTRACE\?",
         "a magic that goes astray (its bytes are not echoed raw)"),
        (text("control.hht", "holeheap-trace 1\nmal\x1boc 5 = 0x10\nend\n"), r"line 2: unknown call 'mal\?oc'",
         "a control character in a call's name (shown as ?)"),
        (binary("empty", b""), r"not a holeheap trace", "an empty file"),
        (binary("zeros", bytes(100)), r"not a holeheap trace", "binary data without the magic"),
        (text("noise.txt", "hello\nworld\n"), r"not a holeheap trace", "text without the header"),
        (text("noend.hht", "holeheap-trace 1\nmalloc 10 = 0x10\n"), r"truncated: no 'end' line", "no end line"),
        (text("mallok.hht", "holeheap-trace 1\nmalloc 10 = 0x10\nmallok 3 = 0x20\nend\n"),
         r"line 3: unknown call 'mallok'", "an unknown call"),
        (text("nan.hht", "# c\nholeheap-trace 1\n\nmalloc 1x0 = 0x10\nend\n"), r"line 4: size '1x0' is not a number",
         "a bad number"),
        (text("huge.hht", "holeheap-trace 1\nfree 0x1ffffffffffffffff\nend\n"), r"line 2: .*does not fit in 64 bits",
         "a number past 64 bits"),
        (text("short.hht", "holeheap-trace 1\nrealloc 0x10 = 0x20\nend\n"), r"line 2: missing size before '='",
         "a call with an operand missing"),
        (text("noresult.hht", "holeheap-trace 1\nmalloc 10 =\nend\n"), r"line 2: missing result", "a missing result"),
        (text("extra.hht", "holeheap-trace 1\nfree 0x10 0x20\nend\n"), r"line 2: unexpected text after the free call",
         "text after a call"),
        (os.path.join(tmp, "missing.hht"), r"No such file", "a missing file"),
        (text("align0.hht", "holeheap-trace 1\nmalloc 8 = 0x20\naligned 0 10 = 0x10\nend\n"),
         r"line 3: alignment 0 is not a power of two", "an alignment of 0"),
        (text("align3.hht", "holeheap-trace 1\naligned 3 10 = 0x10\nend\n"),
         r"line 2: alignment 3 is not a power of two", "an alignment of 3"),
        (text("align24.hht", "holeheap-trace 1\naligned 24 10 = 0\nend\n"),
         r"line 2: alignment 24 is not a power of two", "an alignment of 24 (in a failed call too)"),
        (binary("align.bin", data + struct.pack("<B3xIQQQQ", 5, 1, 0, 24, 10, 0x9000)),
         r"record 9: alignment 24 is not a power of two", "an alignment of 24 (binary)"),
        (binary("align0.bin", data[:16] + struct.pack("<B3xIQQQQ", 5, 1, 0, 0, 10, 0x9000)),
         r"record 1: alignment 0 is not a power of two", "an alignment of 0 (binary)"),
    ]
    for path, pattern, what in cases:
        for command in (["replay"], ["size"], ["plot", "-o", os.path.join(tmp, "x.svg")]):
            expect_error(command[:1] + [path] + command[1:], 2, pattern, "%s (%s)" % (what, command[0]))
    expect_error(["replay", SMALL, "--bogus"], 2, r"unknown option '--bogus'", "an unknown option")
    expect_error(["frobnicate", SMALL], 2, r"unknown command 'frobnicate'", "an unknown command")
    expect_error(["replay", SMALL, "--index", "list"], 2, r"--index must be fast or table", "an unknown index")
    expect_error(["replay", SMALL, "--check-every", "x"], 2, r"--check-every needs a whole number", "a bad number option")
    expect_error(["replay", SMALL, "--at", "3"], 2, r"does not apply", "an option of another command")
    expect_error(["replay"], 2, r"no TRACE file given", "no trace file")
    expect_error(["map", SMALL, "--at", "9", "-o", os.path.join(tmp, "m.svg")], 2,
                 r"--at 9 is past the end: the trace has 8 calls", "--at past the end")
    expect_error(["map", SMALL, "--at", "1", "--peak", "-o", os.path.join(tmp, "m.svg")], 2, r"either --at N or --peak",
                 "both --at and --peak")
    expect_error(["map", SMALL, "--at", "1", "-o", os.path.join(tmp, "m.png")], 2, r"must end in .svg or .html",
                 "an unknown output type")
    expect_error(["map", SMALL, "--at", "1", "-o", "/nonexistent/dir/m.svg"], 2, r"cannot write /nonexistent/dir/m.svg",
                 "an unwritable output (map)")
    expect_error(["map", SMALL, "--peak", "-o", "/nonexistent/dir/m.html"], 2, r"cannot write /nonexistent/dir/m.html",
                 "an unwritable output (HTML map)")
    expect_error(["plot", SMALL, "-o", "/nonexistent/dir/p.svg"], 2, r"cannot write /nonexistent/dir/p.svg",
                 "an unwritable output (plot)")
    unknown = text("unknown.hht", "holeheap-trace 1\nmalloc 10 = 0x10\nfree 0x20\nend\n")
    expect_error(["replay", unknown], 1, r"^holeheap: line 3: free of 0x20, which is not a live block",
                 "a free of an address the trace never handed out")
    twice = text("twice.hht", "# a log\n\nholeheap-trace 1\nmalloc 10 = 0x10\n# comment\n\nmalloc 10 = 0x10\nend\n")
    expect_error(["replay", twice], 1, r"^holeheap: line 7: address 0x10 handed out twice",
                 "an address handed out twice (named by its line in a text trace)")
    twice_bin = os.path.join(tmp, "twice.bin")
    write_binary(twice_bin, [(OPS["malloc"], 0, 10, 0, 0x10), (OPS["malloc"], 0, 10, 0, 0x10)])
    expect_error(["replay", twice_bin], 1, r"^holeheap: record 2: address 0x10 handed out twice",
                 "an address handed out twice (named by its record in a binary trace)")


def main():
    global TOOL
    TOOL = sys.argv[1]
    help_out = run("help")
    check(help_out.returncode == 0 and all(c in help_out.stdout for c in ("replay", "size", "map", "plot")),
          "holeheap help lists the four commands")
    for cmd in ("replay", "size", "map", "plot"):
        h = run(cmd, "--help")
        check(h.returncode == 0 and h.stdout.startswith("usage: holeheap " + cmd), "holeheap %s --help" % cmd)
    with tempfile.TemporaryDirectory() as tmp:
        test_replay_small(tmp)
        test_serial_noise(tmp)
        test_error_totals(tmp)
        test_map_peak_errors(tmp)
        test_small_items(tmp)
        random_bin = test_replay_random(tmp)
        test_size(SMALL, "small.hht")
        test_size(random_bin, "the random trace")
        test_map_svg(tmp)
        test_map_labels(tmp, random_bin)
        test_map_html(tmp)
        test_plot(tmp)
        test_plot_holes(tmp)
        test_scale(tmp)
        test_bad_input(tmp)
    if failures:
        print("%d failed" % len(failures))
        sys.exit(1)
    print("check-tools: all passed")


if __name__ == "__main__":
    main()
