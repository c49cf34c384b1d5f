"""The clerk's page in a real headless Chromium (Debian's chromium + chromium-driver, driven by
selenium at /usr/bin/chromedriver: nothing downloads a browser or runs selenium-manager).

Uploads an official PDF, a tampered one and a .p7s with its signed file through the page,
reads the verdict and the signer names from the screen, switches the language, works the
form with the keyboard, drops a file on the drop zone, and keeps a screenshot of each result
that must show the verdict's colour (not a blank page). A document whose signer name is HTML
and a file named like an <img> tag run no script. The browser reports no CSP violation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from serve_support import (
    EVIL_CN,
    EVIL_FILE_NAME,
    TRUST,
    VECTORS,
    ServeProcess,
    common_name,
    pdf_signed_by_html_name,
)

from sigmail.verdict.reasons import VERDICT_LABELS

AT = "2026-06-01T00:00:00Z"
CHROMEDRIVER = "/usr/bin/chromedriver"
COLOURS = {"official": "#1a7f37", "invalid": "#cf222e"}


@pytest.fixture(scope="module")
def chromedriver() -> str:
    """Debian's chromium and chromium-driver; installed with apt when missing and we are root."""
    if shutil.which("chromium") and Path(CHROMEDRIVER).exists():
        return CHROMEDRIVER
    if os.geteuid() != 0:
        pytest.skip("chromium/chromium-driver are not installed and installing them needs root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps = (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
    )
    for step in steps:
        done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            pytest.fail(f"installing chromium failed at {' '.join(step)}: {done.stderr[-800:]}")
    if not Path(CHROMEDRIVER).exists():
        pytest.fail(f"apt-get installed chromium-driver but there is no {CHROMEDRIVER}")
    return CHROMEDRIVER


@pytest.fixture(scope="module")
def server(tmp_path_factory, responder):
    s = ServeProcess(tmp_path_factory.mktemp("browser"), *TRUST, "--policy", "basic")
    yield s
    s.terminate()


@pytest.fixture
def browser(chromedriver, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,1800",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=chromedriver, log_output=str(tmp_path / "driver.log"))
    driver = webdriver.Chrome(service=service, options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def _upload(browser, server, path: Path, *, content: Path | None = None, lang: str = "vi"):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(server.url + ("/?lang=en" if lang == "en" else "/"))
    browser.find_element(By.ID, "file").send_keys(str(path))
    if content is not None:
        browser.find_element(By.ID, "content").send_keys(str(content))
    browser.find_element(By.CSS_SELECTOR, "details.advanced summary").click()
    browser.find_element(By.ID, "at").send_keys(AT)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "result")))


def _screen(browser) -> dict:
    from selenium.webdriver.common.by import By

    badge = browser.find_element(By.ID, "verdict")
    return {
        "verdict": badge.get_attribute("data-verdict"),
        "label": badge.text,
        "signers": [e.text for e in browser.find_elements(By.CSS_SELECTOR, "td.signer-name")],
        "lang": browser.find_element(By.TAG_NAME, "html").get_attribute("lang"),
    }


def _near(pixel, colour: str, tolerance: int = 24) -> bool:
    target = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return all(abs(p - t) <= tolerance for p, t in zip(pixel[:3], target, strict=True))


def _screenshot(browser, tmp_path: Path, name: str, verdict: str) -> None:
    from PIL import Image

    shot = tmp_path / f"{name}.png"
    assert browser.save_screenshot(str(shot))
    keep = os.environ.get("SIGMAIL_SERVE_SCREENSHOTS")
    if keep:  # to look at them: SIGMAIL_SERVE_SCREENSHOTS=/tmp/shots pytest -k browser
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / shot.name)
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(image.width * image.height)
    assert len(colours) > 50, "the screenshot is blank"
    badge = sum(n for n, rgb in colours if _near(rgb, COLOURS[verdict]))
    assert badge > 2000, f"no {verdict} badge on the screenshot ({badge} pixels)"


def _no_csp_violation(browser) -> None:
    messages = [e["message"] for e in browser.get_log("browser")]
    assert not [m for m in messages if "Content Security Policy" in m], messages


def test_an_official_pdf_in_vietnamese(browser, server, tmp_path):
    _upload(browser, server, VECTORS / "pdf/pdf-agency-then-person.pdf")
    seen = _screen(browser)
    assert seen["lang"] == "vi" and seen["verdict"] == "official"
    assert seen["label"] == VERDICT_LABELS["official"][0]
    assert seen["signers"] == [common_name("agency-stttt"), common_name("person-an")]
    _screenshot(browser, tmp_path, "official-vi", "official")
    _no_csp_violation(browser)


def test_a_tampered_pdf_in_english_after_switching(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(server.url + "/")
    browser.find_element(By.ID, "lang-en").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.ID, "submit").text == "Verify"
    _upload(browser, server, VECTORS / "pdf/pdf-tampered-byte.pdf", lang="en")
    seen = _screen(browser)
    assert seen["lang"] == "en" and seen["verdict"] == "invalid"
    assert seen["label"] == VERDICT_LABELS["invalid"][1]
    assert seen["signers"] == [common_name("person-an")]
    findings = browser.find_element(By.CSS_SELECTOR, "table.findings").text
    assert "digest_mismatch" in findings
    _screenshot(browser, tmp_path, "tampered-en", "invalid")
    _no_csp_violation(browser)


def test_a_p7s_with_its_signed_file(browser, server, tmp_path):
    _upload(
        browser,
        server,
        VECTORS / "pdf/pdf-detached-p7s.p7s",
        content=VECTORS / "pdf/document.pdf",
    )
    seen = _screen(browser)
    assert seen["verdict"] == "official"
    assert seen["signers"] == [common_name("person-an")]
    _screenshot(browser, tmp_path, "p7s-vi", "official")


def test_html_from_the_document_and_the_file_name_runs_nothing(browser, server, tmp_path):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    evil = tmp_path / EVIL_FILE_NAME
    evil.write_bytes(pdf_signed_by_html_name())
    _upload(browser, server, evil)
    seen = _screen(browser)
    assert seen["signers"] == [EVIL_CN]  # shown as text
    assert browser.find_element(By.ID, "file-name").text == EVIL_FILE_NAME
    assert browser.find_elements(By.CSS_SELECTOR, 'img[src="x"], script:not([src])') == []
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018


def test_the_form_works_with_the_keyboard_alone(browser, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    def press(key) -> str:
        ActionChains(browser).send_keys(key).perform()
        active = browser.switch_to.active_element
        return active.get_attribute("id") or active.tag_name

    browser.get(server.url + "/")
    reached = [press(Keys.TAB)]
    while reached[-1] != "submit" and len(reached) < 12:
        reached.append(press(Keys.TAB))
    assert reached[-1] == "submit", reached
    assert {"lang-en", "file", "content"} <= set(reached), reached
    for control in ("file", "content", "at"):
        label = browser.find_element(By.CSS_SELECTOR, f'label[for="{control}"]')
        assert label.get_attribute("textContent").strip(), control
    # A file chosen (the native dialog is the browser's), then Enter on the focused button.
    browser.find_element(By.ID, "file").send_keys(str(VECTORS / "pdf/pdf-unsigned.pdf"))
    browser.execute_script("document.getElementById('submit').focus()")
    press(Keys.ENTER)
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "result")))
    assert _screen(browser)["verdict"] == "unsigned"
    # The result takes the focus, so a screen reader reads it next.
    assert browser.switch_to.active_element.get_attribute("id") == "result-title"


def test_a_file_dropped_on_the_zone_is_the_one_sent(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.wait import WebDriverWait

    browser.get(server.url + "/")
    data = list((VECTORS / "pdf/pdf-tampered-byte.pdf").read_bytes())
    browser.execute_script(
        """
        const file = new File([new Uint8Array(arguments[0])], "dropped.pdf",
                              {type: "application/pdf"});
        const transfer = new DataTransfer();
        transfer.items.add(file);
        const zone = document.getElementById("drop-zone");
        zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true}));
        zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
        """,
        data,
    )
    assert browser.find_element(By.ID, "dropped").text.endswith("dropped.pdf")
    browser.find_element(By.CSS_SELECTOR, "details.advanced summary").click()
    browser.find_element(By.ID, "at").send_keys(AT)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 60).until(ec.presence_of_element_located((By.ID, "result")))
    assert _screen(browser)["verdict"] == "invalid"
    assert browser.find_element(By.ID, "file-name").text == "dropped.pdf"


def test_the_print_view_keeps_the_verdict_and_drops_the_form(browser, server):
    from selenium.webdriver.common.by import By

    _upload(browser, server, VECTORS / "pdf/pdf-person-only.pdf")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element(By.ID, "verify-form").is_displayed()
        assert not browser.find_element(By.ID, "print").is_displayed()
        assert browser.find_element(By.ID, "verdict").is_displayed()
        assert browser.find_element(By.CSS_SELECTOR, "td.signer-name").is_displayed()
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
