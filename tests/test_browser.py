"""Provenance in the rendered HTML, checked in a real browser (headless Chromium).

``.ci/run`` installs Debian's ``chromium`` and ``chromium-driver``; on CI a missing
browser is a failure, elsewhere the test is skipped with the reason.
"""
from __future__ import annotations

import json
import os
import shutil

import pytest

from paperbuild import render
from tests.test_render import _roots, _targets, paper  # noqa: F401  (the small-document fixture)


def _browser():
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        message = "headless Chromium and chromedriver are needed (apt install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(driver), options=options)


def _with_step_records(build):
    """The records the build writes after each step, which the HTML links are made from."""
    (build / "steps").mkdir()
    (build / "steps" / "echem.json").write_text(json.dumps(
        {"step": "echem", "source": "analysis/electrochemistry.py", "input_roots": {"a.mpt": "raw"},
         "inputs": {"a.mpt": "0" * 64}, "outputs": ["numbers/echem.json"]}))
    (build / "steps" / "echem_figures.json").write_text(json.dumps(
        {"step": "echem_figures", "source": "analysis/electrochemistry_figures.py", "input_roots": {"data/cycles.csv": "build"},
         "inputs": {"data/cycles.csv": "2" * 64}, "outputs": ["figures/one.svg"]}))


def test_number_and_figure_provenance_in_chromium(paper):  # noqa: F811
    """Hover and keyboard focus reveal a number's step, inputs and source link; a caption ends in
    one compact "source" link to the figure's script, whose tooltip names the script and data;
    the PDF prints the number plainly."""
    from pypdf import PdfReader
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    paper_dir, build = paper
    _with_step_records(build)
    render.render("article", _roots(paper_dir, build), _targets(build))
    browser = _browser()
    try:
        browser.get((build / "paper" / "article.html").as_uri())
        number = browser.find_element(By.CSS_SELECTOR, 'p span.num[data-key="echem.ce_floor_after_100"]')
        tip = number.find_element(By.CSS_SELECTOR, ".num-prov")
        assert number.text.startswith("99.70") and not tip.is_displayed()

        ActionChains(browser).move_to_element(number).perform()
        assert tip.is_displayed()
        assert "echem.ce_floor_after_100" in tip.text and "step: echem" in tip.text
        assert "a.mpt (0000000000)" in tip.text and "code: 1111111111" in tip.text
        link = tip.find_element(By.CSS_SELECTOR, "a.num-source")
        assert link.get_attribute("href").endswith("/analysis/electrochemistry.py")

        ActionChains(browser).move_to_element(browser.find_element(By.TAG_NAME, "h1")).perform()  # away: hidden
        assert not tip.is_displayed()
        body = browser.find_element(By.TAG_NAME, "body")
        for _ in range(20):  # the keyboard route: Tab until the number has focus
            body.send_keys(Keys.TAB) if browser.switch_to.active_element == body else \
                browser.switch_to.active_element.send_keys(Keys.TAB)
            if browser.switch_to.active_element.get_attribute("data-key") == "echem.ce_floor_after_100":
                break
        assert browser.switch_to.active_element.get_attribute("data-key") == "echem.ce_floor_after_100"
        assert tip.is_displayed()

        caption = browser.find_element(By.CSS_SELECTOR, "#suppfig-one figcaption")
        assert caption.text.startswith("Figure S1.") and caption.text.endswith("source")  # no row of raw links
        source = caption.find_element(By.CSS_SELECTOR, ".fig-prov a.fig-source")
        assert source.get_attribute("href").endswith("/analysis/electrochemistry_figures.py")
        figure_tip = caption.find_element(By.CSS_SELECTOR, ".fig-prov-tip")
        assert not figure_tip.is_displayed()
        ActionChains(browser).move_to_element(source).perform()
        assert figure_tip.is_displayed() and "echem_figures" in figure_tip.text
        links = {a.text: a.get_attribute("href") for a in figure_tip.find_elements(By.TAG_NAME, "a")}
        assert links["script"].endswith("/analysis/electrochemistry_figures.py")
        assert links["data/cycles.csv"].endswith("/build/data/cycles.csv")
        # a click on the figure opens the figure itself, at full size
        zoom = browser.find_element(By.CSS_SELECTOR, "#suppfig-one a.zoom")
        assert zoom.get_attribute("href").endswith("/build/figures/one.svg") and zoom.find_elements(By.TAG_NAME, "img")
    finally:
        browser.quit()
    pdf_text = " ".join(page.extract_text() for page in PdfReader(build / "paper" / "article.pdf").pages)
    assert "99.70" in pdf_text and "step:" not in pdf_text and "script" not in pdf_text and "source" not in pdf_text


def _overflow(browser) -> dict:
    """How far the page reaches past the window, and for each table how far it reaches past the
    window and how much of it is hidden (clipped or scrolled out of view) inside its box."""
    return browser.execute_script("""
        const root = document.documentElement;
        const tables = [...document.querySelectorAll('table')].map(t => {
            const box = t.getBoundingClientRect(), holder = t.closest('figure') || t.parentElement;
            return {right: box.right, hidden: Math.max(t.scrollWidth - t.clientWidth,
                                                       holder.scrollWidth - holder.clientWidth)};
        });
        return {page: root.scrollWidth - root.clientWidth, width: root.clientWidth, tables: tables};""")


def _fits(reach: dict) -> bool:
    return reach["page"] <= 0 and all(t["right"] <= reach["width"] and t["hidden"] <= 1 for t in reach["tables"])


def test_pages_fit_1280px_with_every_caption(tmp_path, monkeypatch):
    """At 1280 px the article, the supplement and the reproduction report have no horizontal
    overflow and no clipped table; every figure and table caption is shown, numbered; figures show
    at 1.6 times their printed width (a 174 mm figure wider than the 50 em text column, so that its
    6-8 pt text reads on a screen), never wider than the window; the report's thumbnails are 240 px
    wide and open their figure."""
    from selenium.webdriver.common.by import By

    from paperbuild import report
    from tests.test_pdf_pages import ARTICLE_FIGURES, SUPPLEMENT_FIGURES, _article, _supplement, make_paper
    from tests.test_report import _fixture_step, _small_build

    monkeypatch.setenv("PAPERBUILD_RENDERER", "pandoc")
    roots = make_paper(tmp_path / "paper", _article(), _supplement())
    for document in ("article", "supplement"):
        render.render(document, roots, [roots.rendered / f"{document}.html", roots.rendered / f"{document}.pdf"])
    small = _small_build(tmp_path / "report", _fixture_step(), {"counts.txt": "a\nb\n"})
    from PIL import Image

    (small.build / "figures").mkdir()
    Image.new("RGB", (1200, 800), (30, 90, 160)).save(small.build / "figures" / "wide.png")
    record = json.loads(small.step_record("fixture").read_text())
    # the real report's figures read several long-named tables: the table must still fit
    inputs = {**record["inputs"], **{f"data/a_rather_long_table_name_of_the_kind_steps_write_{i}.csv": f"{i}" * 64
                                     for i in range(4)}}
    small.step_record("fixture").write_text(json.dumps(dict(record, inputs=inputs,
                                                            outputs=[*record["outputs"], "figures/wide.png"])))
    certificate = report.write_report(small)

    browser = _browser()
    try:
        browser.set_window_size(1280, 900)
        for name, figures, tables in (("article", ARTICLE_FIGURES, 1), ("supplement", SUPPLEMENT_FIGURES, 1)):
            browser.get((roots.rendered / f"{name}.html").as_uri())
            reach = _overflow(browser)
            assert _fits(reach), reach
            captions = [c.text for c in browser.find_elements(By.TAG_NAME, "figcaption")]
            assert len(captions) == len(figures) + tables and all(c.strip() for c in captions)
            prefix = "Figure S" if name == "supplement" else "Figure "
            assert [c.split(".")[0] for c in captions if c.startswith("Fig")] == \
                [f"{prefix}{i}" for i in range(1, len(figures) + 1)]
            text_column = browser.find_element(By.CSS_SELECTOR, "main p").size["width"]
            widths = [image.size["width"] for image in browser.find_elements(By.CSS_SELECTOR, "figure img")]
            assert len(widths) == len(figures)
            for shown, (_, width_mm, _) in zip(widths, figures):  # in document order
                wanted = min(1.6 * width_mm / 25.4 * 96, 1120)
                assert abs(shown - wanted) <= 2, (name, shown, wanted)
            assert max(widths) > text_column  # the widest reach beyond the text column
        browser.get(certificate.html.as_uri())
        reach = _overflow(browser)
        assert _fits(reach), reach
        thumb = browser.find_element(By.CSS_SELECTOR, "td a img")
        assert thumb.size["width"] in (240, 242)  # with its 1 px border
        link = thumb.find_element(By.XPATH, "..").get_attribute("href")
        assert link.endswith("/figures/wide.png")
    finally:
        browser.quit()


def test_hostile_names_run_no_script_in_chromium(paper, tmp_path):  # noqa: F811
    """File names built to run script (an onerror image, a script element, a quote that opens an
    attribute) show as text in the article's tooltip and caption link and in the report; the browser
    runs none of them, and the data link opens the file it names."""
    from urllib.parse import unquote, urlsplit

    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from paperbuild import report
    from paperbuild.step import raw
    from tests.test_report import _fixture_step, _small_build

    attack = "window.pwned=1"
    hostile_input = f"a`<img src=x onerror={attack}>`b \" onfocus=\"{attack}\" x=\".mpt"
    hostile_data = f"data/<script>{attack}</script> #1.csv"
    paper_dir, build = paper
    numbers = json.loads((build / "numbers.json").read_text())
    numbers["echem.ce_floor_after_100"]["inputs"] = {hostile_input: "a" * 64}
    (build / "numbers.json").write_text(json.dumps(numbers))
    (build / "steps").mkdir()
    (build / "steps" / "echem_figures.json").write_text(json.dumps(
        {"step": "echem_figures", "source": "analysis/electrochemistry_figures.py",
         "input_roots": {hostile_data: "build"}, "inputs": {hostile_data: "2" * 64}, "outputs": ["figures/one.svg"]}))
    render.render("article", _roots(paper_dir, build), _targets(build))
    step = _fixture_step(source=hostile_input, other=raw(f"<img src=x onerror={attack}>.xy"))
    certificate = report.write_report(_small_build(tmp_path / "report", step, {
        hostile_input: "1\n", f"<img src=x onerror={attack}>.xy": "2\n"}))

    browser = _browser()
    try:
        browser.get((build / "paper" / "article.html").as_uri())
        number = browser.find_element(By.CSS_SELECTOR, 'p span.num[data-key="echem.ce_floor_after_100"]')
        ActionChains(browser).move_to_element(number).perform()
        tip = number.find_element(By.CSS_SELECTOR, ".num-prov")
        assert " ".join(f"{hostile_input} (aaaaaaaaaa)".split()) in " ".join(tip.text.split())
        link = browser.find_element(By.CSS_SELECTOR, "#suppfig-one figcaption .fig-prov a[href*='data']")
        assert unquote(urlsplit(link.get_attribute("href")).path) == str((build / hostile_data).resolve())
        assert link.get_attribute("title") == hostile_data
        assert browser.execute_script("return window.pwned") is None
        assert not browser.find_elements(By.TAG_NAME, "script")

        browser.get(certificate.html.as_uri())
        assert hostile_input.split("`")[1] in browser.find_element(By.TAG_NAME, "body").text
        assert browser.execute_script("return window.pwned") is None
        assert not browser.find_elements(By.TAG_NAME, "script")
    finally:
        browser.quit()
