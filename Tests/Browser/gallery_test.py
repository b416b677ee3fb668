#!/usr/bin/env python3
"""The demo gallery in a real browser: headless Chromium driven by selenium,
against the real swerve binary serving the shipped config/config.yaml and
www/default (copied to a temporary folder, on a free loopback port).

    python3 Tests/Browser/gallery_test.py [SWERVE_BINARY] [ARTIFACT_DIR]

Walks the phone path: index → upload page → attach a PNG made here → title →
submit → gallery shows it → detail page; the same without JavaScript (the
plain form, 303 to the gallery); an XSS title that must render as text; an
unknown photo → 404; and the other examples (form echo by GET and POST, the
template script, the static image). Screenshots at 360×740 and 1280×800 go to
ARTIFACT_DIR (default .build/browser-artifacts), never into git.

Needs chromium, chromium-driver and python3-selenium (Debian packages);
`make test` installs them. When they are missing it says so and fails: a
test that passes without running would hide a broken gallery.
"""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/lib/chromium/chromedriver"

try:
    from selenium import webdriver
    from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    webdriver = None

PHONE = (360, 740)
DESKTOP = (1280, 800)
WAIT = 20  # seconds: every wait in this test is bounded


def wait(driver):
    """A bounded wait that retries while a navigation replaces the page under it."""
    return WebDriverWait(driver, WAIT, ignored_exceptions=(StaleElementReferenceException,))


def cannot_run(reason):
    print("FAILED browser test: %s (install with: apt-get install chromium chromium-driver python3-selenium)" % reason)
    sys.exit(1)


def png(width, height, top, bottom):
    """A photo-like PNG (a sky gradient, a sun, a horizon), made with the standard library."""
    rows = []
    for y in range(height):
        t = y / height
        sky = bytes(int(a + (b - a) * t) for a, b in zip(top, bottom))
        row = bytearray(b"\x00")
        for x in range(width):
            if (x - width * 0.7) ** 2 + (y - height * 0.35) ** 2 < (height * 0.12) ** 2:
                row += b"\xfa\xc8\x5a"
            elif y > height * 0.72:
                row += b"\x1e\x3c\x32"
            else:
                row += sky
        rows.append(bytes(row))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting until %s" % (timeout, what))


class Server:
    """swerve serving copies of config/ and www/ on a free port."""

    def __init__(self, binary):
        self.folder = tempfile.mkdtemp(prefix="swerve-browser-")
        shutil.copytree(os.path.join(ROOT, "config"), os.path.join(self.folder, "config"))
        shutil.copytree(os.path.join(ROOT, "www"), os.path.join(self.folder, "www"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        uploads = os.path.join(self.folder, "www", "default", "uploads")
        for name in os.listdir(uploads):
            if name == ".meta":
                shutil.rmtree(os.path.join(uploads, name))
            elif name != ".gitkeep":
                os.remove(os.path.join(uploads, name))
        self.uploads = uploads
        self.port = free_port()
        config = os.path.join(self.folder, "config", "config.yaml")
        with open(config, encoding="utf-8") as f:
            text = f.read()
        # The shipped config, with only what a test must change: loopback, a free port, one worker, logs in files.
        text, listens = re.subn(r"listen: \[8080\]", 'listen: ["127.0.0.1:%d"]' % self.port, text)
        text = re.sub(r"workers: auto", "workers: 1", text)
        text = re.sub(r"access_log: stdout", "access_log: %s/access.log" % self.folder, text)
        text = re.sub(r"error_log: stderr", "error_log: %s/error.log" % self.folder, text)
        assert listens == 1, "config/config.yaml no longer has 'listen: [8080]'"
        with open(config, "w", encoding="utf-8") as f:
            f.write(text)
        self.process = subprocess.Popen([binary, "serve", "-c", config], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for("swerve answers", self.ready)

    def ready(self):
        if self.process.poll() is not None:
            raise AssertionError("swerve exited: %s" % self.error_log())
        try:
            with urllib.request.urlopen(self.url("/"), timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def error_log(self):
        try:
            with open(os.path.join(self.folder, "error.log"), encoding="utf-8") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def browser(javascript=True):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--hide-scrollbars", "--force-device-scale-factor=1", "--no-first-run"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    driver.set_window_size(*PHONE)
    return driver


def screenshot(driver, artifacts, name, size):
    driver.set_window_size(*size)
    # The whole page, not only the window: as tall as the document.
    height = driver.execute_script("return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
    driver.set_window_size(size[0], max(size[1], min(int(height), 4000)))
    path = os.path.join(artifacts, "%s-%dx%d.png" % (name, size[0], size[1]))
    driver.save_screenshot(path)
    driver.set_window_size(*size)
    return path


def no_horizontal_scroll(driver):
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def upload_through_page(driver, server, title, image_path, expect_gallery=True):
    driver.get(server.url("/"))
    driver.find_element(By.CSS_SELECTOR, 'a[href="/upload.html"]').click()
    wait(driver).until(expected_conditions.url_contains("/upload.html"))
    field = driver.find_element(By.CSS_SELECTOR, 'input[type=file][name=file]')
    assert field.get_attribute("accept") == "image/*"
    assert field.get_attribute("capture") == "environment"
    field.send_keys(image_path)
    driver.find_element(By.NAME, "title").send_keys(title)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    if expect_gallery:
        wait(driver).until(expected_conditions.url_contains("/cgi-bin/gallery.py"))


def test_phone_path(driver, server, artifacts, image_path):
    driver.get(server.url("/"))
    assert driver.find_element(By.CSS_SELECTOR, 'meta[name=viewport]').get_attribute("content") == \
        "width=device-width, initial-scale=1"
    assert no_horizontal_scroll(driver), "the index scrolls sideways at 360 px"
    screenshot(driver, artifacts, "index", PHONE)
    screenshot(driver, artifacts, "index", DESKTOP)

    # Empty gallery first.
    driver.get(server.url("/cgi-bin/gallery.py"))
    assert "No photos yet" in driver.find_element(By.TAG_NAME, "main").text

    # The upload page previews the photo (JavaScript on), then the gallery shows it.
    driver.get(server.url("/upload.html"))
    driver.find_element(By.ID, "file").send_keys(image_path)
    wait(driver).until(lambda d: d.find_element(By.ID, "preview").is_displayed())
    screenshot(driver, artifacts, "upload", PHONE)
    upload_through_page(driver, server, "Harbour at dusk", image_path)
    card = wait(driver).until(
        lambda d: next((a for a in d.find_elements(By.CSS_SELECTOR, "ul.gallery a") if "Harbour at dusk" in a.text), None))
    image = card.find_element(By.TAG_NAME, "img")
    wait(driver).until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    assert image.get_attribute("src").startswith(server.url("/uploads/"))
    assert no_horizontal_scroll(driver), "the gallery scrolls sideways at 360 px"
    screenshot(driver, artifacts, "gallery", PHONE)
    screenshot(driver, artifacts, "gallery", DESKTOP)

    # The detail page: image, title, size, time, back link.
    driver.set_window_size(*PHONE)
    card.click()
    wait(driver).until(expected_conditions.url_contains("/cgi-bin/view.py?name="))
    main = driver.find_element(By.TAG_NAME, "main")
    assert main.find_element(By.TAG_NAME, "h1").text == "Harbour at dusk"
    assert "Uploaded" in main.text and "Size" in main.text
    photo = main.find_element(By.CSS_SELECTOR, "figure img")
    wait(driver).until(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", photo))
    screenshot(driver, artifacts, "detail", PHONE)
    screenshot(driver, artifacts, "detail", DESKTOP)
    driver.find_element(By.LINK_TEXT, "← Back to the gallery").click()
    wait(driver).until(expected_conditions.url_contains("/cgi-bin/gallery.py"))


def test_xss_title_is_text(driver, server, image_path):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    upload_through_page(driver, server, hostile, image_path)
    titles = wait(driver).until(
        lambda d: [t.text for t in d.find_elements(By.CSS_SELECTOR, "ul.gallery .title") if "alert" in t.text])
    assert titles == [hostile], titles
    try:
        alert = driver.switch_to.alert
        raise AssertionError("a title ran as script: alert %r" % alert.text)
    except NoAlertPresentException:
        pass
    # Detail page: the title is the heading's text, not markup.
    driver.find_element(By.XPATH, "//ul[@class='gallery']//a[contains(., 'alert(1)')]").click()
    wait(driver).until(expected_conditions.url_contains("/cgi-bin/view.py"))
    assert driver.find_element(By.TAG_NAME, "h1").text == hostile
    assert not driver.find_elements(By.CSS_SELECTOR, "main script, main img[src=x]")


def test_without_javascript(server, image_path):
    driver = browser(javascript=False)
    try:
        upload_through_page(driver, server, "Plain form", image_path)
        assert "Plain form" in driver.find_element(By.CSS_SELECTOR, "ul.gallery").text
    finally:
        driver.quit()


def test_refusals(driver, server, artifacts, folder):
    # A file that is not an image: the page says so in words (the server would answer 415).
    text_file = os.path.join(folder, "notes.txt")
    with open(text_file, "w") as f:
        f.write("not a photo")
    driver.get(server.url("/upload.html"))
    driver.find_element(By.ID, "file").send_keys(text_file)
    driver.find_element(By.NAME, "title").send_keys("Notes")
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    message = wait(driver).until(lambda d: d.find_element(By.ID, "message").is_displayed() and d.find_element(By.ID, "message"))
    wait(driver).until(lambda d: "image" in message.text)
    assert "error" in message.get_attribute("class")
    screenshot(driver, artifacts, "upload-refused", PHONE)
    # Unknown photo, or a name with a NUL byte: the script answers 404.
    for name in ("missing.jpg", "a%00.png", "..%2Fconfig.png"):
        try:
            urllib.request.urlopen(server.url("/cgi-bin/view.py?name=" + name), timeout=10)
            raise AssertionError("view.py?name=%s did not give 404" % name)
        except urllib.error.HTTPError as error:
            assert error.code == 404, (name, error.code)
    # A sidecar that is valid JSON but not an object must not break the gallery.
    shutil.copy(os.path.join(folder, "photo.png"), os.path.join(server.uploads, "odd.png"))
    os.makedirs(os.path.join(server.uploads, ".meta"), exist_ok=True)
    with open(os.path.join(server.uploads, ".meta", "odd.png.json"), "w") as f:
        f.write("[]")
    with urllib.request.urlopen(server.url("/cgi-bin/gallery.py"), timeout=10) as response:
        assert response.status == 200 and "odd" in response.read().decode()
    os.remove(os.path.join(server.uploads, "odd.png"))
    os.remove(os.path.join(server.uploads, ".meta", "odd.png.json"))


def test_examples(driver, server):
    # The form echo, through the page's own forms.
    driver.get(server.url("/form.html"))
    driver.find_element(By.CSS_SELECTOR, 'form[method=get] button').click()
    main = wait(driver).until(lambda d: "/cgi-bin/echo.py?" in d.current_url and d.find_element(By.TAG_NAME, "main").text)
    assert "GET" in main and "Ada" in main and "hello & welcome" in main, main
    driver.get(server.url("/form.html"))
    driver.find_element(By.CSS_SELECTOR, 'form[method=post] button').click()
    main = wait(driver).until(lambda d: d.current_url.endswith("/cgi-bin/echo.py") and d.find_element(By.TAG_NAME, "main").text)
    assert "POST" in main and "Grace" in main and "multi-line" in main, main
    # As curl would: query and urlencoded body, escaped.
    with urllib.request.urlopen(server.url("/cgi-bin/echo.py?id=hello"), timeout=10) as response:
        assert "<th>id</th><td>hello</td>" in response.read().decode()
    with urllib.request.urlopen(server.url("/cgi-bin/echo.py"), data=b"id=%3Cb%3Ehello", timeout=10) as response:
        assert "<th>id</th><td>&lt;b&gt;hello</td>" in response.read().decode()
    # The template script (output: body) and the static image.
    with urllib.request.urlopen(server.url("/template/hello.py?name=%3Ci%3Eswerve"), timeout=10) as response:
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "<h1>Hello, &lt;i&gt;swerve!</h1>" in response.read().decode()
    driver.get(server.url("/"))
    driver.find_element(By.PARTIAL_LINK_TEXT, "static image").click()
    wait(driver).until(expected_conditions.url_contains("/images/swerve.png"))
    image = driver.find_element(By.TAG_NAME, "img")
    assert driver.execute_script("return arguments[0].naturalWidth", image) == 480


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swerve"))
    artifacts = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, ".build", "browser-artifacts"))
    if webdriver is None:
        cannot_run("python3-selenium is not installed")
    if not CHROMIUM or not os.path.exists(CHROMEDRIVER):
        cannot_run("chromium or chromium-driver is not installed")
    if not os.path.exists(binary):
        raise SystemExit("no swerve binary at %s (run make build)" % binary)
    os.makedirs(artifacts, exist_ok=True)
    server = Server(binary)
    folder = tempfile.mkdtemp(prefix="swerve-browser-files-")
    image_path = os.path.join(folder, "photo.png")
    with open(image_path, "wb") as f:
        f.write(png(480, 360, (40, 70, 140), (240, 150, 110)))
    driver = None
    try:
        driver = browser()
        tests = [
            ("phone path: index → upload → gallery → detail", lambda: test_phone_path(driver, server, artifacts, image_path)),
            ("an XSS title renders as text", lambda: test_xss_title_is_text(driver, server, image_path)),
            ("the plain form works without JavaScript", lambda: test_without_javascript(server, image_path)),
            ("refusals: not an image, unknown photo", lambda: test_refusals(driver, server, artifacts, folder)),
            ("the other examples: form echo, template, static image", lambda: test_examples(driver, server)),
        ]
        for name, test in tests:
            started = time.monotonic()
            test()
            print("✔ browser: %s (%.1fs)" % (name, time.monotonic() - started))
        stored = sorted(n for n in os.listdir(server.uploads) if not n.startswith("."))
        assert len(stored) == 3, stored
        sidecars = sorted(os.listdir(os.path.join(server.uploads, ".meta")))
        assert sidecars == [n + ".json" for n in stored], sidecars
        # A sidecar holds every form field: never served (dot-folders are 404).
        try:
            urllib.request.urlopen(server.url("/uploads/.meta/" + sidecars[0]), timeout=10)
            raise AssertionError("a sidecar was served")
        except urllib.error.HTTPError as error:
            assert error.code == 404, error.code
        print("browser test passed; screenshots in %s" % artifacts)
    except Exception:
        print("✘ browser test failed; swerve's error log:\n" + server.error_log(), file=sys.stderr)
        if driver is not None:
            try:
                driver.save_screenshot(os.path.join(artifacts, "failure.png"))
            except Exception:
                pass
        raise
    finally:
        if driver is not None:
            driver.quit()
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
