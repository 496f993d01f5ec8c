"""What JupyterLab's browser-test.js does, in Debian's Chromium: open the
page, wait until JupyterLab has started every plugin, and fail on the errors
it collected (console errors, uncaught errors) in #browserTest.

    python chromium_check.py URL
"""

import json
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def main(url: str) -> int:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(url)
        page.locator("#browserTest").wait_for(state="attached", timeout=100_000)
        page.locator(".completed").wait_for(state="attached", timeout=100_000)
        errors = json.loads(page.locator("#browserTest").text_content() or "[]")
        browser.close()
    for error in errors:
        print("error in the page:", error, file=sys.stderr)
    print(f"browser check: {len(errors)} errors at {url}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
