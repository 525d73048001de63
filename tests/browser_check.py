"""A page checked in a real browser: headless Chromium (Debian's ``chromium``, installed by
``make test``) loads an HTML file from disk and reports every image it holds, then screenshots it.

:func:`check_images` writes a copy of the page beside it (so relative image paths resolve) with a
small script that, after the page's load event, records ``naturalWidth``/``naturalHeight`` of
every ``<img>`` of the DOM and of every ``data:image/...`` URI embedded in the page (the Snakemake
report keeps its figures as data URIs inside its scripts and draws them only when asked), each
loaded by the browser as an image; ``chromium --dump-dom`` prints the resulting DOM.
:func:`screenshot` writes a PNG of the page, :func:`blank_fraction` measures it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--disable-dev-shm-usage", "--no-first-run", "--allow-file-access-from-files"]
MARK = "lindring-image-check"

SCRIPT = """
<script>
window.addEventListener('load', async () => {
  const seen = new Set();
  const out = [];
  const probe = (src, where) => new Promise(done => {
    const im = new Image();
    im.onload = () => { out.push({where, src: src.slice(0, 120), w: im.naturalWidth, h: im.naturalHeight}); done(); };
    im.onerror = () => { out.push({where, src: src.slice(0, 120), w: 0, h: 0, error: true}); done(); };
    im.src = src;
  });
  for (const img of Array.from(document.images)) {
    if (!img.complete) await new Promise(r => { img.onload = img.onerror = r; });
    out.push({where: 'img', src: img.getAttribute('src').slice(0, 120), w: img.naturalWidth, h: img.naturalHeight});
  }
  const text = document.documentElement.innerHTML;
  const re = /data:image\\/[a-z+.-]+(;[a-z0-9=._-]+)*;base64,[A-Za-z0-9+\\/=]+/g;
  for (const m of text.matchAll(re)) {
    if (seen.has(m[0])) continue;
    seen.add(m[0]);
    await probe(m[0], 'data-uri');
  }
  const pre = document.createElement('pre');
  pre.id = '%s';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
""" % MARK


def _run(args, timeout=120):
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True,
                          timeout=timeout)


def check_images(page: Path) -> list[dict]:
    """Every image of ``page`` as the browser sees it: ``{where, src, w, h}`` (w = 0: broken)."""
    page = Path(page).resolve()
    probe = page.with_name(f".{page.stem}.{MARK}.html")
    html = page.read_text(errors="replace")
    i = html.lower().rfind("</body>")
    probe.write_text(html[:i] + SCRIPT + html[i:] if i >= 0 else html + SCRIPT)
    try:
        proc = _run(["--virtual-time-budget=30000", "--dump-dom", probe.as_uri()])
    finally:
        probe.unlink()
    m = re.search(rf'<pre id="{MARK}">(.*?)</pre>', proc.stdout, re.S)
    if not m:
        raise AssertionError(f"the check script did not report (chromium exit {proc.returncode}):"
                             f"\n{proc.stderr[-2000:]}")
    return json.loads(m.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
                      .replace("&quot;", '"'))


def screenshot(page: Path, out: Path, size=(1400, 1000)) -> Path:
    """A PNG screenshot of ``page`` as Chromium renders it."""
    out = Path(out).resolve()
    if out.exists():
        out.unlink()
    proc = _run([f"--window-size={size[0]},{size[1]}", "--virtual-time-budget=10000",
                 f"--screenshot={out}", Path(page).resolve().as_uri()])
    if not out.exists():
        raise AssertionError(f"no screenshot (chromium exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return out


def blank_fraction(png: Path) -> tuple[float, int]:
    """(fraction of pixels that differ from the most common colour, number of distinct colours)
    of a PNG: a blank page gives (0, 1)."""
    import matplotlib.image as mpimg
    img = mpimg.imread(str(png))[..., :3]
    px = (np.round(img.reshape(-1, 3) * 255)).astype(np.int64)
    key = px[:, 0] * 65536 + px[:, 1] * 256 + px[:, 2]
    values, counts = np.unique(key, return_counts=True)
    return 1.0 - counts.max() / key.size, int(values.size)
