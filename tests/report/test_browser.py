"""The report in a real browser: headless Chromium draws it with no console message, every
chart region holds a drawing, and the page loads nothing from outside.

Skipped where Chromium is not installed (Debian: `apt-get install -y chromium`).
"""

import json
import shutil
import subprocess

import pytest

from corpuskit.report import write_report

CHROMIUM = next((c for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (apt-get install -y chromium)")
WIDTH = 1300

# Injected into a copy of the page only: where each chart is, and the page's height.
MEASURE = """<script>
const boxes = [...document.querySelectorAll("figure.chart svg")].map(e => {
  const r = e.getBoundingClientRect();
  return {name: e.closest("figure").dataset.chart, x: r.x, y: r.y + scrollY, w: r.width, h: r.height};
});
document.body.insertAdjacentHTML("beforeend", "<pre id='measured'>" +
  JSON.stringify({boxes, height: document.documentElement.scrollHeight}) + "</pre>");
</script>"""


def _chromium(tmp_path, *args):
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
           f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_every_chart_draws_without_console_errors(runs, tmp_path):
    from PIL import Image

    page = write_report(runs[0], tmp_path / "report.html")
    html = page.read_text()
    measured = tmp_path / "measure.html"
    measured.write_text(html.replace("</body>", MEASURE + "</body>"))
    dom = _chromium(tmp_path, f"--window-size={WIDTH},1000", "--dump-dom", measured.as_uri())
    data = json.loads(dom.stdout.split("<pre id=\"measured\">", 1)[1].split("</pre>", 1)[0])
    assert len(data["boxes"]) == html.count('<figure class="chart"') >= 8

    shot = tmp_path / "shot.png"
    run = _chromium(tmp_path, f"--window-size={WIDTH},{data['height']}", f"--screenshot={shot}", page.as_uri())
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    image = Image.open(shot).convert("L")
    for box in data["boxes"]:
        assert box["w"] > 100 and box["h"] > 50, box
        region = image.crop((int(box["x"]), int(box["y"]), int(box["x"] + box["w"]), int(box["y"] + box["h"])))
        inked = sum(n for value, n in enumerate(region.histogram()) if value < 200)
        assert inked > 0.005 * box["w"] * box["h"], f"chart {box['name']} looks blank"
