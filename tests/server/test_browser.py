"""The dashboard in a real browser: headless Chromium (Debian's chromium and chromium-driver) via Selenium.

Run with ``pytest -m browser tests/server/test_browser.py`` (the default selection leaves it out).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

pytestmark = pytest.mark.browser


def _serve(tmp_path, token=None):
    import uvicorn

    from econsim.server.app import Settings, create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(Settings(data_dir=tmp_path, token=token)), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started
    return f"http://127.0.0.1:{port}", instance, thread


@pytest.fixture
def server(tmp_path):
    url, instance, thread = _serve(tmp_path)
    yield url
    instance.should_exit = True
    thread.join(10)


@pytest.fixture
def token_server(tmp_path):
    url, instance, thread = _serve(tmp_path, token="s3cret")
    yield url
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


def _ready(browser):
    wait_for(lambda: browser.execute_script("return document.body.dataset.ready === '1'"))


def _type(browser, element_id, value):
    from selenium.webdriver.common.by import By

    box = browser.find_element(By.ID, element_id)
    box.clear()
    box.send_keys(value)


def _no_console_errors(browser):
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_sweep_heatmap_and_comparing_two_jobs(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server + "/?model=honey&runs=2&steps=12")
    _ready(browser)
    Select(browser.find_element(By.ID, "sweep-x")).select_by_value("throttle")
    _type(browser, "sweep-x-values", "0.01,2")  # 2 is out of throttle's bounds [0, 1]: Run disabled
    assert "invalid" in browser.find_element(By.ID, "sweep-x-values").get_attribute("class")
    assert not browser.find_element(By.ID, "run").is_enabled()
    _type(browser, "sweep-x-values", "0.01,0.05")
    Select(browser.find_element(By.ID, "sweep-y")).select_by_value("p_pull")
    _type(browser, "sweep-y-values", "0.5,0.7,0.9")
    assert browser.find_element(By.ID, "run").is_enabled()
    assert "sweep-y=p_pull" in browser.current_url

    heatmap = browser.find_element(By.ID, "heatmap")
    browser.find_element(By.ID, "run").click()
    wait_for(lambda: heatmap.get_attribute("data-cells") == "6")  # 2 throttle × 3 p_pull values
    assert heatmap.is_displayed()
    wait_for(lambda: browser.find_element(By.ID, "chart").get_attribute("data-points") == "13")
    price_map = heatmap.screenshot_as_png
    Select(browser.find_element(By.ID, "heatmap-value")).select_by_value("saturation")
    wait_for(lambda: heatmap.get_attribute("data-value") == "saturation")
    assert heatmap.screenshot_as_png != price_map

    # a second job without the sweep and another productivity: then A against B on one chart
    Select(browser.find_element(By.ID, "sweep-x")).select_by_value("")
    Select(browser.find_element(By.ID, "sweep-y")).select_by_value("")
    productivity = browser.find_element(By.CSS_SELECTOR, "#params [data-param='productivity']")
    productivity.clear()
    productivity.send_keys("0.95")
    browser.find_element(By.ID, "run").click()
    wait_for(lambda: len(Select(browser.find_element(By.ID, "compare-b")).options) == 2)
    wait_for(lambda: browser.find_element(By.ID, "compare").is_enabled())
    a, b = (Select(browser.find_element(By.ID, i)).first_selected_option for i in ("compare-a", "compare-b"))
    assert a.get_attribute("value") != b.get_attribute("value")  # the sweep's job against the new one
    assert "productivity=0.95" in b.text
    chart = browser.find_element(By.ID, "compare-chart")
    empty = chart.screenshot_as_png
    Select(browser.find_element(By.ID, "series")).select_by_value("saturation")
    browser.find_element(By.ID, "compare").click()
    wait_for(
        lambda: chart.get_attribute("data-points-a") == "13" and chart.get_attribute("data-points-b") == "13"
    )
    saturation = chart.screenshot_as_png
    assert saturation != empty
    Select(browser.find_element(By.ID, "series")).select_by_value("price")
    browser.find_element(By.ID, "compare").click()
    wait_for(lambda: chart.screenshot_as_png not in (saturation, empty))
    assert "comparing" in browser.find_element(By.ID, "message").text
    _no_console_errors(browser)


def test_live_progress_with_a_token(token_server, browser):
    from selenium.webdriver.common.by import By

    browser.get(token_server + "/?model=honey&runs=2&steps=40#token=s3cret")
    _ready(browser)
    browser.find_element(By.ID, "run").click()
    chart = browser.find_element(By.ID, "chart")
    wait_for(lambda: chart.get_attribute("data-points") == "41")
    # the progress arrived over the EventSource (the token as ?token=), not by polling
    assert int(browser.execute_script("return document.body.dataset.progressEvents || '0'")) >= 1
    assert "complete" in browser.find_element(By.ID, "jobs").text
    _no_console_errors(browser)
