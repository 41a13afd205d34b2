"""The review app in a real headless browser: Debian's chromium driven by Selenium through chromedriver.

The real ``creative-assets review`` command serves a storage with generated creatives of brand A
(Aurora, whose kit needs a *brand* then a *legal* approval) and a registered campaign of brand B
(Terra), on a fresh identity database. The browser: signs in as the first-run admin with the one-time
password the server printed and is made to change it; as an approver of brand A cannot see brand B;
approves stage one (no delivery yet, the page says what is missing), then as the legal approver stage
two (the delivery appears); after a re-materialization both stages are back to needs review and the
delivery is gone; a reviewer requests changes and the regenerated revision is what the page shows;
the admin reads the audit log page.

Needs ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``; scripts/test.sh
installs them). Missing, the test fails: it is never skipped silently.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from creative_assets.brief import load_brief
from creative_assets.brief_store import register_brief
from creative_assets.identity.store import IdentityStore
from creative_assets.layout import delivery_file_key, delivery_manifest_key
from creative_assets.review.decisions import unit_events
from creative_assets.review.service import ReviewService
from creative_assets.units import UnitKey
from creative_assets_tests.helpers import TRAIL
from creative_assets_tests.pipeline_helpers import pipeline_defs, register, run_range, small_brief
from creative_assets_tests.review_helpers import PASSWORD, populate, staged_kits
from resources.brand_kits import BrandKitLibrary
from resources.identity import IdentityDatabase
from resources.storage import LocalCreativeStorage
from sensors.audit import audit_archive_sensor
from sensors.review import review_decision_sensor

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CREATIVE_ASSETS_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CREATIVE_ASSETS_CHROMEDRIVER", "/usr/bin/chromedriver")
ADMIN_PASSWORD = "first-run-chosen-phrase"
#: "geometric" and "lighter" are template directives (creative_assets/feedback.py): every candidate changes
FEEDBACK = "More modern and geometric please, on a lighter background"
SCREENSHOT_DIR = Path("/tmp/review_screens")


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


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Two generated units of brand A (en-US x 2 products, 2 candidates), a registered campaign of
    brand B, and the kit folder where brand A needs two approval stages."""
    require_browser()
    tmp = tmp_path_factory.mktemp("review_browser")
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    kits = staged_kits(tmp)
    (tmp / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp / "home")) as instance:
        keys = register(storage, small_brief(tmp, locales=("en-US",), candidates=2, motion=True), instance)
        defs = pipeline_defs(storage, brand_kits=BrandKitLibrary(root=str(kits)))
        run_range(defs, instance, keys[0], keys[-1])
        register_brief(storage, load_brief(TRAIL), TRAIL.read_bytes())
        yield tmp, storage, instance, defs, [UnitKey.parse(k) for k in keys], kits


@pytest.fixture(scope="module")
def server(generated):
    """``creative-assets review --out <storage> --port <free>`` as a subprocess; yields its base URL."""
    tmp, storage, *_rest, kits = generated
    port = free_port()
    log_path = tmp / "review-server.log"
    env = {
        **os.environ,
        "CREATIVE_ASSETS_IDENTITY_DB_URL": f"sqlite:///{tmp / 'identity.sqlite'}",
        "CREATIVE_ASSETS_BRAND_KITS": str(kits),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("CREATIVE_ASSETS_REVIEW_SECURE_COOKIE", "CREATIVE_ASSETS_OIDC_ISSUER"):
        env.pop(name, None)
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
        yield base, log_path.read_text()
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


def test_teams_staged_approvals_and_audit_in_a_real_browser(generated, server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    tmp, storage, instance, defs, units, kits = generated
    base, server_log = server
    unit, other = units
    service = ReviewService(storage, brand_kits=kits)
    driver = browser
    wait = WebDriverWait(driver, 20)
    SCREENSHOT_DIR.mkdir(exist_ok=True)

    def text(css: str) -> str:
        return driver.find_element(By.CSS_SELECTOR, css).text

    def sign_in(login: str, password: str) -> None:
        driver.get(f"{base}/login")
        driver.find_element(By.NAME, "login").send_keys(login)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.ID, "sign-in").click()

    def sign_out() -> None:
        driver.find_element(By.ID, "sign-out").click()
        wait.until(ec.url_contains("/login"))

    def stage_states() -> dict[str, str]:
        items = driver.find_elements(By.CSS_SELECTOR, "#stages li[data-stage]")
        return {li.get_attribute("data-stage"): li.get_attribute("data-state") for li in items}

    # -- first run: the one-time admin password the server printed, changed at once -----------------
    [one_time] = re.findall(r"one-time password: (\S+)", server_log)
    driver.get(f"{base}/")
    wait.until(ec.url_contains("/login"))
    sign_in("admin", one_time)
    wait.until(ec.presence_of_element_located((By.ID, "one-time")))
    assert driver.current_url.endswith("/account/password")
    for name, value in (("current", one_time), ("new", ADMIN_PASSWORD), ("confirm", ADMIN_PASSWORD)):
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.ID, "change-password").click()
    wait.until(ec.presence_of_element_located((By.ID, "flash")))
    assert text("#flash") == "Password changed." and text("#reviewer") == "Administrator"
    session = driver.get_cookie("ca_review_session")
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    sign_out()

    # the team (what `creative-assets users add` does), in the server's identity database
    store = IdentityStore.open(f"sqlite:///{tmp / 'identity.sqlite'}")
    populate(store)

    # -- an approver of brand A does not see brand B ------------------------------------------------
    sign_in("bruno@example.com", PASSWORD)
    wait.until(ec.presence_of_element_located((By.ID, "reviewer")))
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.campaign")
    assert [r.get_attribute("data-brand") for r in rows] == ["aurora-beverages"]
    assert "trail-ready-2026" not in driver.page_source
    driver.get(f"{base}/campaigns/trail-ready-2026")
    hidden = text("main")
    driver.get(f"{base}/campaigns/no-such-campaign")
    assert hidden == text("main") and "Not found." in hidden

    # -- stage one: brand ---------------------------------------------------------------------------
    driver.get(f"{base}/")
    driver.find_element(By.LINK_TEXT, service.campaign(unit.campaign_id).name).click()
    driver.find_element(By.CSS_SELECTOR, f'.card.unit[data-unit="{unit}"] a').click()
    wait.until(ec.url_contains(f"/units/{unit}"))
    assert stage_states() == {"brand": "pending", "legal": "pending"}
    assert text("#missing") == "Delivery waits for: brand, legal"
    assert assert_images_loaded(driver) == 3 * len(service.unit(unit).candidates)
    # the motion creatives load in the page: served, allowed by the CSP (media-src), decodable
    assert driver.find_elements(By.CSS_SELECTOR, "video"), "the selected candidate's video is shown"
    video_states = "return [...document.querySelectorAll('video')].map(v => [v.readyState, v.error && v.error.code, v.videoWidth])"
    wait.until(lambda d: all(ready >= 1 or error for ready, error, _ in d.execute_script(video_states)))
    assert all(error is None and width > 0 for _, error, width in driver.execute_script(video_states))
    assert "Brand" in text("#approve")
    driver.find_element(By.ID, "approve").click()
    wait.until(ec.url_contains("done=stage_approved"))
    assert "delivery waits for: legal" in text("#flash")
    assert stage_states() == {"brand": "approved", "legal": "pending"}
    assert text("#missing") == "Delivery waits for: legal"
    assert not driver.find_elements(By.ID, "delivery") and not driver.find_elements(By.ID, "approve-form")
    assert not storage.exists(delivery_manifest_key(unit)), "no delivery after stage one"
    screenshot(driver, SCREENSHOT_DIR / "1-stage-one.png")
    sign_out()

    # -- stage two: legal, by another person; now the delivery appears ------------------------------
    sign_in("lena@example.com", PASSWORD)
    wait.until(ec.presence_of_element_located((By.ID, "reviewer")))
    driver.get(f"{base}/units/{unit}")
    assert "Legal" in text("#approve")
    driver.find_element(By.ID, "approve").click()
    wait.until(ec.url_contains("done=approved"))
    assert "Approved and published" in text("#flash") and text("#status") == "Approved"
    assert stage_states() == {"brand": "approved", "legal": "approved"}
    delivery = text("#delivery")
    assert "Stage brand" in delivery and "bruno@example.com" in delivery and "lena@example.com" in delivery
    manifest = json.loads(storage.read_text(delivery_manifest_key(unit)))
    approved = service.unit(unit).selected
    for ratio, source in approved.files.items():
        assert storage.read_bytes(delivery_file_key(unit, ratio)) == storage.read_bytes(source)
        assert manifest["files"][ratio]["sha256"] == approved.content[ratio]
    assert [(e.action, e.stage, e.actor_login) for e in unit_events(storage, unit)] == [
        ("approve", "brand", "bruno@example.com"),
        ("approve", "legal", "lena@example.com"),
    ]
    screenshot(driver, SCREENSHOT_DIR / "2-delivered.png")

    # -- a re-materialization sends both stages back to needs review --------------------------------
    run_range(defs, instance, str(unit), str(unit))
    driver.get(f"{base}/units/{unit}")
    wait.until(ec.presence_of_element_located((By.ID, "status")))
    assert text("#status") == "Needs review"
    assert stage_states() == {"brand": "needs_review", "legal": "needs_review"}
    assert text("#missing") == "Delivery waits for: brand, legal"
    assert not driver.find_elements(By.ID, "delivery") and not storage.exists(delivery_manifest_key(unit))
    history = text("#history")
    assert "withdraw" in history and "re-materialized" in history, "the approval history is kept"
    screenshot(driver, SCREENSHOT_DIR / "3-after-rematerialization.png")
    sign_out()

    # -- a reviewer requests changes; the review sensor's revision run regenerates the unit ----------
    sign_in("rita@example.com", PASSWORD)
    wait.until(ec.presence_of_element_located((By.ID, "reviewer")))
    driver.get(f"{base}/units/{other}")
    assert not driver.find_elements(By.ID, "approve-form"), "reviewers do not approve"
    before = service.unit(other)
    driver.find_element(By.CSS_SELECTOR, "#changes-form textarea[name=feedback]").send_keys(FEEDBACK)
    driver.find_element(By.ID, "request-changes").click()
    wait.until(ec.url_contains("done=changes_requested"))
    assert text("#status") == "Regeneration requested", "no run has started on it yet"
    [request] = unit_events(storage, other)
    assert (request.action, request.actor_login, request.comment) == (
        "request_changes",
        "rita@example.com",
        FEEDBACK,
    )
    context = dg.build_sensor_context(instance=instance, resources={"storage": storage}, cursor=None)
    [run] = review_decision_sensor(context).run_requests
    assert (
        defs.resolve_job_def("creative_pipeline").execute_in_process(instance=instance, tags=run.tags).success
    )
    driver.get(f"{base}/units/{other}")
    wait.until(ec.presence_of_element_located((By.ID, "status")))
    assert text("#status") == "Needs review" and "revision 1" in text("main") and FEEDBACK in text("main")
    after = service.unit(other)
    assert after.selected.content != before.selected.content, "regenerated pixels"
    assert_images_loaded(driver)
    cookie = driver.get_cookie("ca_review_session")["value"]
    for src, shown_bytes in displayed_images(driver).items():  # never a stale cached revision
        assert shown_bytes == served(src, cookie), f"{src} is stale in the browser"
    sign_out()

    # -- the audit log page (the archive sensor adds the pipeline's withdrawal) ---------------------
    resources = {
        "storage": storage,
        "identity_db": IdentityDatabase(url=f"sqlite:///{tmp / 'identity.sqlite'}"),
    }
    audit_archive_sensor(dg.build_sensor_context(instance=instance, resources=resources, cursor=None))
    sign_in("admin", ADMIN_PASSWORD)
    wait.until(ec.presence_of_element_located((By.ID, "audit-link")))
    driver.find_element(By.ID, "audit-link").click()
    wait.until(ec.presence_of_element_located((By.ID, "audit")))
    assert "Hash chain verified" in text("#chain")
    actions = [
        r.get_attribute("data-action")
        for r in driver.find_elements(By.CSS_SELECTOR, "#audit tr[data-action]")
    ]
    for action in (
        "password.change",
        "signin.success",
        "signout",
        "decision.approve",
        "delivery.publish",
        "delivery.withdraw",
    ):
        assert action in actions, action
    audit_text = text("#audit")
    assert (
        "bruno@example.com" in audit_text and "lena@example.com" in audit_text and "127.0.0.1" in audit_text
    )
    shot = screenshot(driver, SCREENSHOT_DIR / "4-audit.png")
    shutil.copyfile(shot, tmp / "audit.png")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert [m for m in errors if "favicon.ico" not in m and "404" not in m] == []


@pytest.fixture(scope="module")
def japanese_site(generated):
    """One generated ja-JP unit, an identity database with the test personas, and the review app
    serving them on loopback (uvicorn in a thread)."""
    import threading

    import uvicorn

    from creative_assets.identity.config import IdentitySettings
    from creative_assets.review.app import create_app

    tmp = generated[0] / "japanese"
    tmp.mkdir()
    storage = LocalCreativeStorage(root=str(tmp / "storage"))
    brief = small_brief(tmp, locales=("ja-JP",), candidates=1)
    with dg.instance_for_test(temp_dir=str(generated[0] / "home")) as instance:
        keys = register(storage, brief, instance)
        run_range(pipeline_defs(storage), instance, keys[0], keys[0])
    identity = IdentityStore.open(f"sqlite:///{tmp / 'identity.sqlite'}")
    populate(identity)
    app = create_app(storage, identity, IdentitySettings(db_url="unused"))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the review app did not start"
        time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}", UnitKey.parse(keys[0])
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_japanese_copy_renders_with_the_served_noto_font(japanese_site, browser):
    """The headline of a ja-JP unit is drawn with the Noto Sans CJK JP web font the app serves,
    every glyph of it (no fallback to a system font, no .notdef), as chromium itself reports."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    base, unit = japanese_site
    driver = browser
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.NAME, "login").send_keys("vera@example.com")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    WebDriverWait(driver, 20).until(ec.presence_of_element_located((By.ID, "reviewer")))
    driver.get(f"{base}/units/{unit}")
    headline = driver.find_element(By.CSS_SELECTOR, '.copy[lang="ja-JP"] strong').text
    assert any("\u3040" <= ch <= "\u9fff" for ch in headline), f"not Japanese: {headline!r}"
    driver.execute_async_script("const done = arguments[0]; document.fonts.ready.then(() => done(true));")
    loaded = driver.execute_script(
        "return Array.from(document.fonts).filter(f => f.status === 'loaded').map(f => f.family)"
    )
    assert any("ja" in family for family in loaded), loaded

    driver.execute_cdp_cmd("DOM.enable", {})
    driver.execute_cdp_cmd("CSS.enable", {})
    root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = driver.execute_cdp_cmd(
        "DOM.querySelector", {"nodeId": root, "selector": '.copy[lang="ja-JP"] strong'}
    )["nodeId"]
    fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert fonts, "chromium reports the fonts it drew the headline with"
    assert all(f["isCustomFont"] for f in fonts), f"a system font was used: {fonts}"
    families = {f["familyName"] for f in fonts}
    assert any("Noto Sans CJK JP" in name for name in families), families
    drawn = sum(f["glyphCount"] for f in fonts)
    assert drawn >= len(headline.replace(" ", "")), f"glyphs missing from the served fonts: {fonts}"
    # the font really came from this server
    requested = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/fonts/'))"
    )
    assert f"{base}/fonts/NotoSansCJKjp-Bold.otf" in requested, requested
