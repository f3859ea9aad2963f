"""The GX Data Docs served by a live Airflow API server, read in a real headless Chromium:
signed-in users only, no script from a portal's values runs (values escaped when built, and a
CSP `sandbox` on every response, each layer proven alone), odd paths are 404, and the pages
render styled with no request leaving 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e_support import airflow_env, migrate_metadata
from tests.ui_support import (
    ApiServer,
    RequestLog,
    artifacts_dir,
    auth_env,
    launch_chromium,
    sign_in,
)

PAYLOAD = ("<script>document.title='pwned';window.__pwned=1;console.log('pwned')</script>"
           "<img src=x onerror=\"document.title='pwned-img';window.__pwned=2\">")
PREFIX = "/egov-data-docs"


def _hostile_batch():
    from egov.quality.portal import validate_portal
    from tests.test_quality import PROC, UNITS, _records
    from tests.test_validation import GOOD

    records = _records(20) + [
        {**GOOD, "MaHoSo": "HOSTILE-1", "MaDonVi": PAYLOAD},
        {**GOOD, "MaHoSo": "HOSTILE-2", "MucDo": PAYLOAD},
    ]
    return validate_portal(UNITS, [PROC], records)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from egov.quality.data_docs import build_data_docs, site_dir

    home = tmp_path_factory.mktemp("airflow_docs")
    docs = home / "data_docs"
    index = build_data_docs(_hostile_batch().suite_inputs, "binh-dinh", "manual__hostile",
                            root=docs)
    site = site_dir(docs)
    pages = [p for p in (site / "validations").rglob("*dossier_versions*.html")]
    assert index.exists() and pages
    # A page built by an older, unescaping build: only the CSP stands between it and a script.
    raw = site / "raw" / "unescaped.html"
    raw.parent.mkdir()
    raw.write_text(f"<html><head><title>raw</title></head><body><p>{PAYLOAD}</p>"
                   "<p id='after'>after</p></body></html>")
    env, password = auth_env(home)
    env = {**airflow_env(home), **env, "EGOV_DATA_DOCS_DIR": str(docs)}
    migrate_metadata(env)
    api = ApiServer(env, home / "api-server.log").wait()
    yield api, password, site, pages[0]
    api.stop()


def _url(site: Path, page: Path) -> str:
    from urllib.parse import quote

    return PREFIX + "/" + quote(page.relative_to(site).as_posix())


def test_built_pages_hold_the_values_escaped_and_no_script(server):
    _, _, site, page = server
    text = page.read_text(encoding="utf-8")
    assert "&lt;script&gt;document.title=" in text
    assert "<script" not in text.lower() and "onerror=" not in text.replace("onerror=&quot;", "")
    for html_file in site.rglob("*.html"):
        if html_file.parent.name == "raw":
            continue
        body = html_file.read_text(encoding="utf-8")
        assert "<script" not in body.lower(), html_file
        assert "https://" not in body.split("<body", 1)[0], html_file  # nothing from a CDN


def test_anonymous_users_are_refused(server):
    api, *_ = server
    for path in (f"{PREFIX}/index.html", f"{PREFIX}/", f"{PREFIX}/static/vendor/x.css",
                 f"{PREFIX}/%00"):
        status, headers, body = api.get(path)
        assert status == 401, (path, status)
        assert b"binh-dinh" not in body
    status, headers, body = api.get(f"{PREFIX}/index.html", accept="text/html")
    assert status == 401 and "/auth/login" in body.decode()
    assert "sandbox" in headers.get("content-security-policy", "")


@pytest.mark.parametrize("path", [
    "/%00", "/index.html%00.png", "/..%2F..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
    "/static%2F..%2F..%2F..%2Fetc%2Fpasswd", "/static/..%5C..%5Cindex.html", "/a%0Ab.html",
    "/" + "x" * 300 + ".html", "/" + "/".join(["d" * 200] * 30), "/static//images/favicon.ico",
    "/static/./images/favicon.ico", "/nothing-here.html",
])
def test_odd_paths_are_404_not_500(server, path):
    api, password, *_ = server
    token = api.token("analyst", password)
    status, headers, _ = api.get(PREFIX + path, token=token)
    assert status == 404, (path, status, api.log_tail(1500))
    if "%0A" not in path:  # a newline never matches the mount: Airflow's own 404 answers
        assert "sandbox" in headers.get("content-security-policy", "")


def test_every_response_has_a_sandbox_csp(server):
    api, password, site, page = server
    token = api.token("analyst", password)
    for path in (f"{PREFIX}/index.html", _url(site, page),
                 f"{PREFIX}/static/vendor/bootstrap-4.3.1/bootstrap.min.css", f"{PREFIX}/"):
        status, headers, _ = api.get(path, token=token)
        assert status in (200, 307), (path, status)
        csp = headers.get("content-security-policy", "")
        assert "sandbox" in csp and "allow-scripts" not in csp, (path, csp)
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert headers.get("x-content-type-options") == "nosniff"


def test_no_script_from_the_data_runs_in_chromium_and_the_docs_render_offline(server):
    from playwright.sync_api import sync_playwright

    api, password, site, page_file = server
    shots = artifacts_dir()
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            console = []
            page.on("console", lambda msg: console.append(msg.text))
            requests = RequestLog(page)
            sign_in(page, api, password)

            # A validation page built from the hostile batch: the payload is shown as text.
            page.goto(api.base + _url(site, page_file), wait_until="load")
            page.wait_for_timeout(500)
            assert "pwned" not in page.title()
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert PAYLOAD.split("<img")[0] in page.inner_text("body")
            # Styled from the vendored copies: bootstrap's body font and its table rules.
            assert "apple-system" in page.evaluate(
                "getComputedStyle(document.body).fontFamily")
            assert page.evaluate(
                "document.fonts.check('900 16px \"Font Awesome 6 Free\"')") is True
            page.screenshot(path=str(shots / "data-docs-hostile-validation.png"), full_page=False)

            # The static index lists the run; its links work inside the sandbox.
            page.goto(f"{api.base}{PREFIX}/index.html", wait_until="load")
            assert "manual__hostile" in page.inner_text("body")
            page.click("text=binh-dinh.dossier_versions >> nth=0")
            page.wait_for_load_state("load")
            assert "Expectation Validation Result" in page.inner_text("body")
            page.screenshot(path=str(shots / "data-docs-index-link.png"))

            # A page with a live <script> in it (an old, unescaped build): the CSP stops it.
            page.goto(f"{api.base}{PREFIX}/raw/unescaped.html", wait_until="load")
            page.wait_for_timeout(500)
            assert page.title() == "raw"
            assert page.evaluate("typeof window.__pwned") == "undefined"
            assert page.inner_text("#after") == "after"

            assert not [m for m in console if "pwned" in m]
            assert requests.outside() == [], requests.outside()
        finally:
            browser.close()


def test_no_dead_button_and_no_link_out_of_the_site(server):
    """Issue 19: GX's "Show All / Failed Only" buttons need JavaScript (the sandbox runs
    none) and its newsletter link leads to the internet: neither is on the pages, also on
    pages an older build already rewrote (served through the same filter)."""
    from playwright.sync_api import sync_playwright

    from egov.quality.docs_site import MARKER

    api, password, site, page_file = server
    old = site / "raw" / "old_build.html"
    old.write_text(MARKER + page_file.read_text(encoding="utf-8").replace(
        "</body>", "<div class=\"card mb-3\">\n<div class=\"card-header p-2\">\n<strong>"
        "Actions</strong></div><div class=\"card-body\"><div><label onclick=\"x()\">Failed "
        "Only</label></div></div></div><p>Stay current with our newsletter <a href=\"https://"
        "greatexpectations.io/newsletter\">Subscribe</a></p><p id=\"end\">end</p></body>"),
        encoding="utf-8")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, api, password)
            for path in (_url(site, page_file), f"{PREFIX}/raw/old_build.html"):
                page.goto(api.base + path, wait_until="load")
                body = page.inner_text("body")
                assert "Expectation Validation Result" in body, path
                assert "Failed Only" not in body and "Show All" not in body, path
                assert "newsletter" not in body.lower(), path
                hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
                assert [h for h in hrefs if not h.startswith(api.base)] == [], path
        finally:
            browser.close()
            old.unlink()


def test_the_vendored_assets_carry_their_licenses():
    from egov.quality.docs_site import ASSETS, VENDOR_FILES

    for name in VENDOR_FILES:
        assert (ASSETS / name).is_file(), name
    assert "MIT" in (ASSETS / "bootstrap-4.3.1" / "LICENSE").read_text()
    assert "SIL OFL 1.1" in (ASSETS / "fontawesome-free-6.6.0" / "LICENSE.txt").read_text()
    assert shutil.which("chromium") or Path("/usr/bin/chromium").exists()
