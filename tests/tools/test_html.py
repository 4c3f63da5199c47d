#!/usr/bin/env python3
"""The HTML map in headless Chromium: the page is self-contained, loads with no
console errors, moving the slider changes what is drawn (the canvas pixels and
the call shown), and hovering a block shows its address, size and call.

    usage: test_html.py /abs/path/to/holeheap      (prints SKIP: without chromium)
"""
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = os.path.join(HERE, "small.hht")

# Runs before the page's own scripts: catches every error and console.error.
EARLY = """<script>
window.__errors = [];
window.addEventListener("error", (e) => window.__errors.push(String(e.message)));
const __consoleError = console.error;
console.error = (...a) => { window.__errors.push(a.join(" ")); __consoleError(...a); };
</script>"""

# Runs after them: moves the slider, hovers over the map, reports in the title.
LATE = """<script>
(function () {
  const canvas = document.getElementById("map"), slider = document.getElementById("slider");
  const label = () => document.getElementById("call").textContent;
  const r = { frames: Number(slider.max) + 1, start: Number(slider.value), label0: label() };
  const before = canvas.toDataURL();
  slider.value = String(slider.max);
  slider.dispatchEvent(new Event("input"));
  r.changed = canvas.toDataURL() !== before;
  r.label1 = label();
  slider.value = String(r.start);
  slider.dispatchEvent(new Event("input"));
  r.restored = canvas.toDataURL() === before;
  const box = canvas.getBoundingClientRect(), tip = document.getElementById("tip");
  r.tips = [];
  for (let y = 5; y < box.height; y += 16)
    for (let x = 1; x < box.width; x += 3) {
      canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: box.left + x, clientY: box.top + y, bubbles: true }));
      if (!tip.hidden && r.tips.indexOf(tip.textContent) < 0) r.tips.push(tip.textContent);
    }
  r.errors = window.__errors;
  document.title = "RESULT " + JSON.stringify(r);
})();
</script>"""

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def main():
    tool, browser = sys.argv[1], chromium()
    if browser is None:
        print("SKIP: chromium is not installed (apt-get install chromium)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = os.path.join(tmp, "map.html")
        p = subprocess.run([tool, "map", SMALL, "--at", "3", "-o", page], capture_output=True, text=True)
        check(p.returncode == 0, "map -o map.html exits 0: " + p.stderr)
        text = open(page).read()
        check(re.search(r"""(src|href)\s*=|<link|@import|url\(|https?://""", text) is None,
              "the page loads nothing from elsewhere")
        harness = os.path.join(tmp, "harness.html")
        open(harness, "w").write(text.replace("<head>", "<head>\n" + EARLY, 1).replace("</body>", LATE + "\n</body>", 1))
        run = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--user-data-dir=" + os.path.join(tmp, "profile"), "--enable-logging=stderr", "--v=0",
                              "--dump-dom", "file://" + harness], capture_output=True, text=True, timeout=90)
        m = re.search(r"<title>RESULT (.*?)</title>", run.stdout, re.S)
        check(m is not None, "the page ran its test script (chromium status %d)" % run.returncode)
        if m is None:
            print(run.stderr[-2000:])
        else:
            r = json.loads(html.unescape(m.group(1)))
            check(r["errors"] == [], "no errors while loading and using the page: %s" % r["errors"])
            check(r["frames"] == 9 and r["start"] == 3, "9 frames (calls 0..8), the slider starts at call 3: %s" % r)
            check(r["label0"] == "call 3 of 8" and r["label1"] == "call 8 of 8", "the label follows the slider: %s" % r)
            check(r["changed"], "moving the slider changes the pixels drawn")
            check(r["restored"], "moving it back draws the first picture again")
            blocks = [t for t in r["tips"] if t.startswith("block at offset")]
            check(len(blocks) == 3 and all(re.search(r"\(traced 0x[0-9a-f]+\): \d+ bytes, \d+ asked for; allocated by "
                                                     r"call [123]$", t) for t in blocks),
                  "hovering shows the three blocks of calls 1-3 with address, size and call: %s" % r["tips"])
        console = [l for l in run.stderr.splitlines() if "CONSOLE" in l and re.search(r"Uncaught|Error", l)]
        check(console == [], "no console errors in chromium's log: %s" % console)
    if failures:
        print("%d failed" % len(failures))
        sys.exit(1)
    print("check-tools-html: all passed")


if __name__ == "__main__":
    main()
