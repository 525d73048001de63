"""The browser check itself (tests/browser_check.py), on small pages with a known answer: a real
headless Chromium finds a broken image, measures a real one, and tells a blank page from a
drawn one. (The report and the quick-look page are checked in test_report_workflow.py.)"""
import base64

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from browser_check import CHROMIUM, blank_fraction, check_images, screenshot



def test_chromium_is_installed():
    assert CHROMIUM, "chromium not found: make test installs Debian's chromium"


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    d = tmp_path_factory.mktemp("pages")
    fig, ax = plt.subplots(figsize=(3, 2), dpi=100)
    ax.plot([0, 1, 2], [0, 1, 0])
    fig.savefig(d / "ok.png")
    plt.close(fig)
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    data = base64.b64encode((d / "ok.png").read_bytes()).decode()
    (d / "page.html").write_text(
        "<!DOCTYPE html><html><body><h1>figures</h1><img src='ok.png'><img src='missing.png'>"
        "<img src='corrupt.png'><script>var embedded = {\"uri\": \"data:image/png;base64,"
        f"{data}\"}};</script></body></html>")
    (d / "blank.html").write_text("<!DOCTYPE html><html><body></body></html>")
    return d


def test_broken_and_good_images_are_told_apart(pages):
    got = {(r["where"], r["src"][:30]): (r["w"], r["h"]) for r in check_images(pages / "page.html")}
    assert got[("img", "ok.png")] == (300, 200)
    assert got[("img", "missing.png")] == (0, 0)
    assert got[("img", "corrupt.png")] == (0, 0)
    assert [wh for (where, _), wh in got.items() if where == "data-uri"] == [(300, 200)]


def test_blank_page_is_blank_and_drawn_page_is_not(pages, tmp_path):
    blank = blank_fraction(screenshot(pages / "blank.html", tmp_path / "blank.png"))
    drawn = blank_fraction(screenshot(pages / "page.html", tmp_path / "page.png"))
    assert blank == (0.0, 1)
    assert drawn[0] > 0.002 and drawn[1] > 20
