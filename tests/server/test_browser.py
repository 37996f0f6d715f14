"""The dashboard in a real browser: headless Chromium (Debian's chromium and chromium-driver) via Selenium.

Run with ``pytest -m browser tests/server/test_browser.py`` (the default selection leaves it out).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    import uvicorn

    from econsim.server.app import Settings, create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(Settings(data_dir=tmp_path)), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    yield driver
    driver.quit()


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("the page did not get there in time")


def test_dashboard_runs_steps_and_shares_its_configuration(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/")
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === '1'"))
    Select(browser.find_element(By.ID, "model")).select_by_value("honey")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#params [data-param='throttle']"))
    for field, value in (("runs", "3"), ("steps", "30")):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(value)
    throttle = browser.find_element(By.CSS_SELECTOR, "#params [data-param='throttle']")
    throttle.clear()
    throttle.send_keys("1.5")  # out of bounds [0, 1]: flagged as typed, Run disabled
    assert "invalid" in throttle.get_attribute("class")
    assert not browser.find_element(By.ID, "run").is_enabled()
    throttle.clear()
    throttle.send_keys("0.02")
    assert "invalid" not in throttle.get_attribute("class")
    assert "throttle=0.02" in browser.current_url and "steps=30" in browser.current_url

    chart = browser.find_element(By.ID, "chart")
    browser.find_element(By.ID, "run").click()
    wait_for(lambda: chart.get_attribute("data-points") == "31")  # timesteps 0 … 30
    wait_for(lambda: "complete" in browser.find_element(By.ID, "jobs").text)
    before = chart.screenshot_as_png
    browser.find_element(By.ID, "step").click()
    wait_for(lambda: chart.get_attribute("data-points") == "2")  # the session: timesteps 0 and 1
    browser.find_element(By.ID, "step").click()
    wait_for(lambda: chart.get_attribute("data-points") == "3")
    after = chart.screenshot_as_png
    assert before != after

    # the URL carries the configuration: opening it again restores the form
    browser.get(browser.current_url)
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === '1'"))
    assert (
        browser.find_element(By.CSS_SELECTOR, "#params [data-param='throttle']").get_attribute("value")
        == "0.02"
    )
    assert browser.find_element(By.ID, "steps").get_attribute("value") == "30"

    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
