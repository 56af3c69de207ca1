"""The console in a real headless Chromium (Debian's chromium and chromium-driver, driven by selenium)
against a real daemon and its HTTP API: open the link `goflow console` prints, see the instances,
open one and watch it reach `done` without reloading, terminate another from its page, see a bad
form's error, get the login page without the cookie. Screenshots go to test-artifacts/console/
(gitignored); the browser and everything started stop at the end."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from console_support import REPO, poll

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = REPO / "test-artifacts" / "console"
WAIT = 20.0


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for path, pkg in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.path.exists(path):
            return f"{path} is missing (apt-get install {pkg}; .ci/run installs it)"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix="goflow-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,1000"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str) -> None:
    height = driver.execute_script("return Math.max(document.body.scrollHeight, 600)")
    driver.set_window_size(1400, min(int(height) + 40, 2600))
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    driver.set_window_size(1400, 1000)


def text_of(driver, css: str) -> str:
    from selenium.webdriver.common.by import By
    return driver.find_element(By.CSS_SELECTOR, css).text


def wait_for(driver, predicate, what: str):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(lambda d: predicate(d), message=what)


def test_the_console_in_a_real_browser(stack, api, browser):
    from selenium.webdriver.common.by import By
    d = browser
    running = api.post("/instances", json={"blueprint": "obs/call", "input": {"order": 17}}).json()["id"]
    other = api.post("/instances", json={"blueprint": "obs/gate"}).json()["id"]
    third = api.post("/instances", json={"blueprint": "obs/gate"}).json()["id"]
    poll(lambda: api.get(f"/instances/{running}").json()["state"] == "waiting", 30, 0.05, "the step to end")

    # 1. the link `goflow console` prints: the token leaves the URL, the instances are listed
    out = subprocess.run([sys.executable, "-m", "actors.cli", "console", "--data-dir", stack.data],
                         capture_output=True, text=True, cwd=str(REPO), timeout=60, env=stack.procs.env())
    assert out.returncode == 0, out.stderr
    d.get(out.stdout.strip())
    assert d.current_url == f"{stack.url}/ui/"
    cookie = d.get_cookie("goflow_console")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and stack.token not in cookie["value"]
    rows = d.find_elements(By.CSS_SELECTOR, "table.instances tbody tr")
    listed = [r.find_element(By.CSS_SELECTOR, "td a").text for r in rows]
    assert listed[:3] == [third, other, running]                    # newest first
    shot(d, "01-instances")

    # 2. open the running instance from the list; it moves to done without a reload
    d.find_element(By.LINK_TEXT, running).click()
    wait_for(d, lambda d: d.current_url.endswith(f"/ui/instances/{running}"), "the instance page")
    assert text_of(d, "#status") == "waiting" and text_of(d, "#state") == "waiting"
    assert d.find_elements(By.CSS_SELECTOR, "svg .state.current")
    assert len(d.find_elements(By.CSS_SELECTOR, "ol.timeline li.retry")) == 1
    assert len(d.find_elements(By.CSS_SELECTOR, "ol.timeline li.fallback")) == 1
    shot(d, "02-instance-waiting")
    d.execute_script("window.__notReloaded = true;")
    r = api.post(f"/instances/{running}/events", json={"event": "go", "data": {"approved": True}})
    assert r.status_code == 200, r.text
    wait_for(d, lambda d: text_of(d, "#status") == "completed", "the page to show completed by itself")
    assert d.execute_script("return window.__notReloaded === true;"), "the page was reloaded"
    assert text_of(d, "#state") == "done"
    assert d.find_element(By.CSS_SELECTOR, "#live").get_attribute("data-final") == "1"
    shot(d, "03-instance-done")
    d.set_window_size(1000, 640)                 # the small one docs/console.md shows (docs/img/)
    assert d.save_screenshot(str(ARTIFACTS / "small-instance-done.png"))
    d.set_window_size(1400, 1000)

    # 3. a bad form: the API's error on the page, the instance unchanged
    d.get(f"{stack.url}/ui/instances/{third}")
    d.find_element(By.CSS_SELECTOR, "form.event input[name=event]").send_keys("go")
    d.find_element(By.CSS_SELECTOR, "form.event textarea[name=data]").send_keys("{not json")
    d.find_element(By.CSS_SELECTOR, "form.event button[type=submit]").click()
    d.switch_to.alert.accept()
    wait_for(d, lambda d: d.find_elements(By.CSS_SELECTOR, ".error"), "the error box")
    assert "InvalidInput" in text_of(d, ".error") and "not JSON" in text_of(d, ".error")
    assert api.get(f"/instances/{third}").json()["state"] == "waiting"
    shot(d, "04-bad-json")

    # 4. terminate another instance from its page (a confirmation first)
    d.get(f"{stack.url}/ui/instances/{other}")
    d.find_element(By.CSS_SELECTOR, "input[name=reason]").send_keys("not needed")
    d.find_element(By.ID, "terminate").click()
    alert = d.switch_to.alert
    assert "Terminate" in alert.text
    alert.accept()
    wait_for(d, lambda d: "done=terminate" in d.current_url, "the redirect after terminate")
    assert text_of(d, "#status") == "terminated"
    st = api.get(f"/instances/{other}").json()
    assert st["status"] == "terminated" and st["reason"] == "not needed"
    shot(d, "05-terminated")

    # 5. the blueprints
    d.get(f"{stack.url}/ui/blueprints/obs/call")
    assert d.find_elements(By.CSS_SELECTOR, ".drawing svg")
    shot(d, "06-blueprint")

    # 6. without the cookie: the login page, no data
    d.delete_all_cookies()
    d.get(f"{stack.url}/ui/instances/{third}")
    assert "Sign in to the GoFlow console" in d.page_source and third not in d.page_source
    shot(d, "07-login")
    d.get(f"{stack.url}/ui/?token=wrong")
    assert "That token is wrong" in d.page_source and d.get_cookie("goflow_console") is None
