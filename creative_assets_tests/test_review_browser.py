"""The review app in a real headless browser: Debian's chromium driven by Selenium through chromedriver.

The real ``creative-assets review`` command serves a storage with generated creatives. The browser signs
in through the form, walks campaigns -> campaign -> unit, approves an alternate on one unit and requests
changes on another; the test then checks the decision log and the delivery folder, runs the review
sensor and the revision run it requests, checks the regenerated outputs and reloads the page.

Needs ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``; scripts/test.sh
installs them). Missing, the test fails: it is never skipped silently.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from creative_assets.partitions import UnitKey
from creative_assets.review.decisions import review_prefix, unit_events
from creative_assets.review.delivery import delivery_file_key, delivery_manifest_key
from creative_assets.review.service import ReviewService
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from resources.io_manager import read_stage
from resources.storage import LocalCreativeStorage
from sensors.review import review_decision_sensor

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CREATIVE_ASSETS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CREATIVE_ASSETS_CHROMEDRIVER", "/usr/bin/chromedriver")
TOKEN = "browser-test-review-token"
REVIEWER = "Rita Reviewer"
#: "geometric" and "lighter" are template directives (creative_assets/feedback.py): every candidate changes
FEEDBACK = "More modern and geometric please, on a lighter background"
SCREENSHOT_COPY = Path("/tmp/review_unit.png")


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() and os.access(p, os.X_OK))]
    if missing:
        pytest.fail(
            f"the browser test needs Debian's chromium and chromedriver; missing: {', '.join(missing)}. "
            "Install them with `apt-get install -y chromium chromium-driver` (scripts/test.sh does it when "
            "run as root), or point CREATIVE_ASSETS_CHROMIUM / CREATIVE_ASSETS_CHROMEDRIVER at them.",
            pytrace=False,
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail("the browser test needs selenium: pip install -e '.[test]'", pytrace=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Two generated units (en-US x 2 products, 2 candidates) on a persistent test instance."""
    require_browser()
    tmp = tmp_path_factory.mktemp("review_browser")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    (tmp / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
        keys = register(storage, small_brief(tmp, locales=("en-US",), candidates=2), instance)
        defs = pipeline_defs(storage)
        run_range(defs, instance, keys[0], keys[-1])
        yield tmp, storage, instance, defs, [UnitKey.parse(k) for k in keys]


@pytest.fixture(scope="module")
def server(generated):
    """``creative-assets review --out <storage> --port <free>`` as a subprocess; yields its base URL."""
    tmp, storage, *_rest = generated
    port = free_port()
    log_path = tmp / "review-server.log"
    env = {**os.environ, "CREATIVE_ASSETS_REVIEW_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    env.pop("CREATIVE_ASSETS_REVIEW_SECURE_COOKIE", None)
    command = [
        sys.executable,
        "-m",
        "creative_assets.cli",
        "review",
        "--out",
        storage.root,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    repo = Path(__file__).resolve().parents[1]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"`creative-assets review` exited with {proc.returncode}:\n{log_path.read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the review server did not come up in 60 s:\n{log_path.read_text()}")
            time.sleep(0.25)
        assert "Reviewing creatives in" in log_path.read_text()
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser(generated):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    tmp = generated[0]
    offline = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--window-size=1366,900",
        f"--user-data-dir={tmp / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp / "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        if offline is None:
            os.environ.pop("SE_OFFLINE", None)
        else:
            os.environ["SE_OFFLINE"] = offline


def screenshot(driver, path: Path) -> Path:
    """A full-page PNG (the window grows to the page's height for the shot)."""
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 600), 6000))
    driver.save_screenshot(str(path))
    driver.set_window_size(width, 900)
    return path


def assert_images_loaded(driver) -> int:
    """Every <img> on the page decoded (lazy ones scrolled into view first); returns how many."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("document.querySelectorAll('img').forEach(i => { i.loading = 'eager'; })")
    pending = (
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    try:
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(pending) == [])
    except TimeoutException:
        pytest.fail(f"images that did not load: {driver.execute_script(pending)}")
    return driver.execute_script("return document.images.length")


def displayed_images(driver) -> dict[str, bytes]:
    """src -> the bytes the page actually shows for each <img> (from chromium's cache, via DevTools)."""
    frame = driver.execute_cdp_cmd("Page.getFrameTree", {})["frameTree"]["frame"]["id"]
    out = {}
    for src in driver.execute_script("return Array.from(document.images).map(i => i.src)"):
        res = driver.execute_cdp_cmd("Page.getResourceContent", {"frameId": frame, "url": src})
        out[src] = base64.b64decode(res["content"]) if res["base64Encoded"] else res["content"].encode()
    return out


def served(url: str, cookie: str) -> bytes:
    request = urllib.request.Request(url, headers={"Cookie": f"ca_review_session={cookie}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.read()


def test_review_in_a_real_browser(generated, server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _tmp, storage, instance, defs, units = generated
    approved_unit, changed_unit = units
    service = ReviewService(storage)
    driver = browser
    wait = WebDriverWait(driver, 20)

    def text(css: str) -> str:
        return driver.find_element(By.CSS_SELECTOR, css).text

    # -- sign in through the form ------------------------------------------------------------------
    driver.get(f"{server}/")
    wait.until(ec.url_contains("/login"))
    driver.find_element(By.NAME, "name").send_keys(REVIEWER)
    driver.find_element(By.NAME, "token").send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(ec.presence_of_element_located((By.ID, "reviewer")))
    assert text("#reviewer") == REVIEWER
    assert driver.find_element(By.TAG_NAME, "h1").text == "Campaigns"
    session = driver.get_cookie("ca_review_session")
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"

    # -- campaigns -> campaign -> unit --------------------------------------------------------------
    [campaign] = service.campaigns()
    driver.find_element(By.LINK_TEXT, campaign.name).click()
    wait.until(ec.url_contains(f"/campaigns/{campaign.campaign_id}"))
    cards = driver.find_elements(By.CSS_SELECTOR, ".card.unit")
    assert {c.get_attribute("data-unit") for c in cards} == {str(u) for u in units}
    assert all(c.get_attribute("data-status") == "needs_review" for c in cards)
    assert assert_images_loaded(driver) == 2
    screenshot(driver, tmp_path / "campaign.png")

    driver.find_element(By.CSS_SELECTOR, f'.card.unit[data-unit="{approved_unit}"] a').click()
    wait.until(ec.url_contains(f"/units/{approved_unit}"))
    view = service.unit(approved_unit)
    assert text("#status") == "Needs review"
    assert assert_images_loaded(driver) == 3 * len(view.candidates)  # every ratio, selected + alternate
    assert view.selected.copy["headline"] in text("#selected .copy")
    screenshot(driver, tmp_path / "unit-before.png")

    # -- approve the alternate on the first unit ---------------------------------------------------
    alternate = view.candidates[1]
    section = driver.find_element(By.ID, f"alternate-{alternate.index + 1}")
    section.find_element(By.CSS_SELECTOR, "button.approve-alternate").click()
    wait.until(ec.url_contains("done=approved"))
    assert "Approved and published" in text("#flash")
    assert text("#status") == "Approved"
    assert "(alternate)" in text("#delivery")
    assert REVIEWER in text("#history")

    # -- request changes on the second unit --------------------------------------------------------
    driver.find_element(By.LINK_TEXT, approved_unit.campaign_id).click()
    wait.until(ec.url_contains(f"/campaigns/{campaign.campaign_id}"))
    driver.find_element(By.CSS_SELECTOR, f'.card.unit[data-unit="{changed_unit}"] a').click()
    wait.until(ec.url_contains(f"/units/{changed_unit}"))
    before = service.unit(changed_unit)
    before_finals = {r: storage.read_bytes(k) for r, k in before.selected.files.items()}
    driver.find_element(By.CSS_SELECTOR, "#changes-form textarea[name=feedback]").send_keys(FEEDBACK)
    driver.find_element(By.ID, "request-changes").click()
    wait.until(ec.url_contains("done=changes_requested"))
    assert "Changes requested" in text("#flash")
    assert text("#status") == "Changes requested"
    assert not driver.find_elements(By.ID, "approve-form"), "no decisions while the unit regenerates"

    # -- storage: the decision log and the delivery ------------------------------------------------
    [approval] = unit_events(storage, approved_unit)
    assert (approval.action, approval.actor, approval.candidate, approval.rank) == (
        "approve",
        REVIEWER,
        alternate.index,
        2,
    )
    assert approval.content_hash == alternate.content_hash and approval.content == alternate.content
    event_keys = list(storage.list_keys(f"{review_prefix(approved_unit)}/events"))
    assert len(event_keys) == 1 and json.loads(storage.read_text(event_keys[0]))["actor"] == REVIEWER
    manifest = json.loads(storage.read_text(delivery_manifest_key(approved_unit)))
    assert manifest["approval"]["id"] == approval.id and manifest["approval"]["actor"] == REVIEWER
    assert manifest["alternate"] is True and manifest["candidate"] == alternate.index + 1
    assert set(manifest["files"]) == set(alternate.files) == {"1:1", "9:16", "16:9"}
    for ratio, source in alternate.files.items():
        delivered = storage.read_bytes(delivery_file_key(approved_unit, ratio))
        assert delivered == storage.read_bytes(source)
        assert manifest["files"][ratio]["sha256"] == sha(delivered) == alternate.content[ratio]
        assert manifest["files"][ratio]["key"] == delivery_file_key(approved_unit, ratio)
    index = json.loads(storage.read_text(f"approved/{approved_unit.campaign_id}/index.json"))
    assert [u["unit"] for u in index["units"]] == [str(approved_unit)]

    [request] = unit_events(storage, changed_unit)
    assert (request.action, request.actor, request.comment) == ("request_changes", REVIEWER, FEEDBACK)
    assert request.content_hash == before.selected.content_hash
    assert request.candidate == before.selected.index and request.rank == 1
    assert not storage.exists(delivery_manifest_key(changed_unit))

    # -- the review sensor requests the revision run; run it ----------------------------------------
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=None)
    result = review_decision_sensor(context)
    observed = {(o.partition, o.metadata["review_action"].value) for o in result.asset_events}
    assert observed == {(str(approved_unit), "approve"), (str(changed_unit), "request_changes")}
    [run] = result.run_requests
    assert run.tags["dagster/asset_partition_range_start"] == str(changed_unit)
    assert run.tags["dagster/asset_partition_range_end"] == str(changed_unit)
    execution = defs.resolve_job_def("creative_pipeline").execute_in_process(instance=instance, tags=run.tags)
    assert execution.success

    brief = read_stage(storage, changed_unit, "brief")
    assert (brief.revision, brief.feedback, brief.revision_decision) == (1, FEEDBACK, request.id)
    raw = read_stage(storage, changed_unit, "raw")
    for candidate in raw.candidates:
        assert "revision 1 feedback" in candidate.prompt and "lighter background" in candidate.prompt
        assert candidate.style == "geometric"
    after = service.unit(changed_unit)
    assert after.status == "needs_review" and after.revision == 1
    after_finals = {r: storage.read_bytes(k) for r, k in after.selected.files.items()}
    assert set(after_finals) == set(before_finals)
    assert all(after_finals[r] != before_finals[r] for r in before_finals), "regenerated pixels"
    assert unit_events(storage, approved_unit) == [approval], "the other unit's approval stands"
    assert service.unit(approved_unit).status == "approved"

    # -- the browser shows the new revision ---------------------------------------------------------
    driver.get(f"{server}/units/{changed_unit}")
    wait.until(ec.presence_of_element_located((By.ID, "status")))
    assert text("#status") == "Needs review"
    assert "revision 1" in driver.find_element(By.TAG_NAME, "main").text
    assert FEEDBACK in driver.find_element(By.TAG_NAME, "main").text
    assert assert_images_loaded(driver) == 3 * len(after.candidates)
    # the page shows the regenerated pixels, not the browser's cached copies of the same URLs
    cookie = driver.get_cookie("ca_review_session")["value"]
    for src, shown_bytes in displayed_images(driver).items():
        assert shown_bytes == served(src, cookie), f"{src} is stale in the browser"
    shown = driver.find_element(By.CSS_SELECTOR, "#approve-form input[name=content_hash]")
    assert shown.get_attribute("value") == after.selected.content_hash
    shot = screenshot(driver, tmp_path / "unit-revision-1.png")
    shutil.copyfile(shot, SCREENSHOT_COPY)
    # no console errors on any page (a CSP violation or a failed image load would show here)
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert [m for m in errors if "favicon.ico" not in m] == []
    assert shot.stat().st_size > 10_000
