"""The dashboard in a real browser: the server on 127.0.0.1, headless Chromium through Selenium (Debian's
``chromium`` and ``chromium-driver``), every page opened, selectors changed, a question asked and a run
started from the form.  ``make test-browser`` installs what it needs and runs this file, writing the
screenshots to reports/examples/dashboard/ (``EXECBENCH_SCREENSHOTS``); without Chromium it skips."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import time
import urllib.request
from pathlib import Path

import pytest

from execbench.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "reports" / "examples"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="headless Chromium is not installed (Debian's chromium and "
                       "chromium-driver; `make test-browser` installs them)"),
]
selenium = pytest.importorskip("selenium", reason="selenium is not installed (the dev extra)")
if importlib.util.find_spec("streamlit") is None:  # not imported here: importing streamlit sets MPLBACKEND=Agg
    pytest.skip("streamlit is not installed (the dashboard extra)", allow_module_level=True)
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.common.exceptions import ElementClickInterceptedException, StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

from execbench.dashboard.launch import free_port, serve  # noqa: E402

TIMEOUT = 120


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A reports folder with a small comparison that keeps its per-order results (one month of BTCUSDT)."""
    root = tmp_path_factory.mktemp("reports")
    assert main(["compare", "--strategies", "twap,flex", "--asset", "BTCUSDT", "--test-start", "2025-07-01",
                 "--test-end", "2025-08-01", "--by", "regime", "--out", str(root / "small-compare")]) == 0
    return root


@pytest.fixture(scope="module")
def url(root):
    port = free_port()
    process = serve([str(root), str(EXAMPLES)], port=port)
    address = f"http://127.0.0.1:{port}"
    started = time.time()
    while time.time() - started < 60:
        try:
            if urllib.request.urlopen(f"{address}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        process.terminate()
        pytest.fail(f"the dashboard did not start: {process.stderr.read() if process.stderr else ''}")
    yield address
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1500,1150"):
        options.add_argument(flag)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("EXECBENCH_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def settle(driver, *, plots: int = 0, text: str | None = None, timeout: float = TIMEOUT) -> float:
    """Wait until the page has its title, nothing is running, ``plots`` Plotly figures have drawn and
    ``text`` shows; returns the seconds it took.  Fails on any error the app shows."""
    started = time.time()
    while time.time() - started < timeout:
        time.sleep(0.1)
        try:
            errors = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
            assert not errors, errors[0].text
            if not driver.find_elements(By.CSS_SELECTOR, "h1"):
                continue
            if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSpinner"]'):
                continue
            if len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) < plots:
                continue
            if text is not None and text not in driver.find_element(By.TAG_NAME, "body").text:
                continue
        except StaleElementReferenceException:  # the page redrew while it was read
            continue
        return time.time() - started
    body = driver.find_element(By.TAG_NAME, "body").text[-800:]
    pytest.fail(f"timed out waiting for {plots} plots and {text!r}; the page says: {body}")


def element(driver, css: str, timeout: float = TIMEOUT):
    """The first element matching ``css`` once it is on the page (Streamlit draws pages in steps)."""
    started = time.time()
    while time.time() - started < timeout:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no {css} on the page after {timeout} s")


def click(driver, text: str, css: str = "label, button", timeout: float = 30) -> None:
    """Click the visible ``css`` element reading ``text``, retrying while the page redraws."""
    started = time.time()
    while time.time() - started < timeout:
        try:
            for candidate in driver.find_elements(By.CSS_SELECTOR, css):
                if candidate.text.strip() == text and candidate.is_displayed():
                    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", candidate)
                    candidate.click()
                    time.sleep(0.3)
                    return
        except (StaleElementReferenceException, ElementClickInterceptedException):
            pass
        time.sleep(0.2)
    pytest.fail(f"no {css} reading {text!r} on the page")


def test_every_page_in_a_browser(url, browser, root, shots):
    timings = {}
    learning = EXAMPLES / "BTCUSDT-compare-learning"
    per_order = all((learning / f"results_{s}.npz").is_file() for s in ("twap", "flex", "lem", "ppo", "flow", "meta"))
    browser.get(f"{url}/compare?folder=BTCUSDT-compare-learning")
    timings["comparison, 6 strategies, first page of a new server (s)"] = settle(browser, plots=int(per_order), text="meta")
    browser.get(f"{url}/compare?folder=BTCUSDT-compare-learning")
    timings["comparison, 6 strategies, cached (s)"] = settle(browser, plots=int(per_order), text="meta")
    timings["comparison, 6 strategies, per-order results present"] = per_order
    browser.save_screenshot(str(shots / "compare.png"))
    if per_order:
        click(browser, "Execution curves")
        settle(browser, plots=1, text="fraction executed")
        browser.save_screenshot(str(shots / "compare-curves.png"))
        click(browser, "Minimum period")
        settle(browser, plots=1, text="effect of the minimum period")
        browser.save_screenshot(str(shots / "compare-min-period.png"))

    browser.get(f"{url}/")
    timings["runs page, first load (s)"] = settle(browser, text="small-compare")
    assert "crypto5-sweep" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(shots / "runs.png"))

    browser.get(f"{url}/compare?folder=small-compare")
    timings["comparison, 2 strategies, first view (s)"] = settle(browser, plots=1)
    click(browser, "sell")
    settle(browser, plots=1)
    for view, shown in (("Execution curves", "fraction executed"), ("Minimum period", "effect of the minimum period"),
                        ("Paired vs TWAP", "difference vs TWAP on the same orders")):
        click(browser, view)
        settle(browser, plots=1, text=shown)
    click(browser, "Breakdowns")
    settle(browser, plots=1, text="Mean diff")

    browser.get(f"{url}/sweep?folder=crypto5-sweep")
    timings["sweep heat map (s)"] = settle(browser, plots=1)
    click(browser, "sell")
    settle(browser, plots=1)
    browser.save_screenshot(str(shots / "sweep.png"))

    browser.get(f"{url}/ask")
    settle(browser)
    box = element(browser, 'input[aria-label="question"]')
    box.send_keys("which strategy had the lowest risk for sells on ETH?", Keys.ENTER)
    timings["question answered (s)"] = settle(browser, plots=1, text="Lowest on std")
    assert "ETHUSDT" in browser.find_element(By.TAG_NAME, "body").text
    browser.save_screenshot(str(shots / "ask.png"))

    browser.get(f"{url}/new")
    settle(browser, text="audit for look-ahead")
    click(browser, "Run", "button")
    timings["new run from the form (s)"] = settle(browser, text="Saved", timeout=300)
    browser.save_screenshot(str(shots / "new-run.png"))
    made = [p for p in root.iterdir() if p.name.startswith("BTCUSDT-twap-")]
    assert len(made) == 1 and (made[0] / "manifest.json").is_file() and (made[0] / "run.json").is_file()
    assert json.loads((made[0] / "run.json").read_text())["audit"]["passed"] is True
    browser.get(f"{url}/")
    settle(browser, text=made[0].name)
    (shots / "timings.json").write_text(json.dumps(timings, indent=1) + "\n")
    print(json.dumps(timings, indent=1))
