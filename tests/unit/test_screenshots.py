"""The screenshots of the README and the manual exist, are Textual's SVG screenshots of the
screens they show at 120x40, and render (never pixel-compared: they come from real runs,
and `python scripts/screenshots.py` makes them again after a change to a screen)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import REPO

IMAGES = REPO / "docs" / "images"
# each screenshot: words of the screen it shows (its own labels and footer keys)
SHOWS = {
    "live": ["Live", "grad norm", "gradient norm per time step", "accuracy", "Stop"],
    "runs": ["Runs", "nth_element", "completed", "Compare", "Inspect"],
    "inspect": ["nth_element", "input", "saliency", "Gate", "Layer"],
    "sweep": ["Grid", "seq_len", "hidden", "best accuracy", "running", "Views"],
}
SVG = "{http://www.w3.org/2000/svg}"


def text_of(path) -> str:
    """The text an SVG screenshot shows (rich writes non-breaking spaces)."""
    root = ET.parse(path).getroot()
    return " ".join("".join(node.itertext()) for node in root.iter(f"{SVG}text")) \
        .replace("\xa0", " ")


@pytest.mark.parametrize("name", SHOWS)
def test_each_screenshot_is_a_textual_svg_of_its_screen_at_120x40(name):
    path = IMAGES / f"{name}.svg"
    assert path.is_file(), f"{path} missing: run python scripts/screenshots.py"
    root = ET.parse(path).getroot()            # well-formed XML
    assert root.tag == f"{SVG}svg" and root.get("class") == "rich-terminal"
    assert root.get("viewBox") == "0 0 1482 1026.0"     # 120 columns x 40 rows
    shown = " ".join(text_of(path).split())
    for words in SHOWS[name]:
        assert words in shown, f"{name}.svg does not show {words!r}"


def test_the_readme_and_the_manual_show_every_screenshot():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    manual = "".join(p.read_text(encoding="utf-8") for p in (REPO / "docs").rglob("*.md"))
    for name in SHOWS:
        assert f"](docs/images/{name}.svg)" in readme
        assert f"images/{name}.svg)" in manual
    assert sorted(p.stem for p in IMAGES.glob("*.svg")) == sorted(SHOWS)


@pytest.mark.skipif(shutil.which("rsvg-convert") is None,
                    reason="rsvg-convert (librsvg2-bin) renders the SVGs")
@pytest.mark.parametrize("name", SHOWS)
def test_each_screenshot_renders(name, tmp_path):
    png = tmp_path / f"{name}.png"
    subprocess.run(["rsvg-convert", "-w", "600", str(IMAGES / f"{name}.svg"), "-o", str(png)],
                   check=True, timeout=60, capture_output=True)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000   # a picture, not blank
