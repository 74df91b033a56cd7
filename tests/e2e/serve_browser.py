#!/usr/bin/python3
"""The browser half of test_serve_browser.sh: headless Chromium (Debian's
chromium + chromium-driver) driven through python3-selenium, against
`envflow serve` behind nginx with HTTP basic auth (the proxy sets
X-Remote-User). Every check of the repository is made with plain git.

    serve_browser.py --url http://127.0.0.1:PORT/ --repo DIR [--shots DIR]

Prints one line per check; exits 1 when one failed."""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse

from selenium import webdriver
from selenium.common.exceptions import (NoSuchElementException, StaleElementReferenceException,
                                        TimeoutException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 60  # seconds a page may take to show what it must (a wait, not an assertion)
FAILED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + detail), flush=True)
    if not ok:
        FAILED.append(name)


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def envflow(repo, actor, *args):
    env = dict(os.environ, ENVFLOW_ACTOR=actor)
    return subprocess.run([os.environ["ENVFLOW"], "-C", repo, *args], check=True,
                          capture_output=True, text=True, env=env).stdout


def last_record(repo):
    message = git(repo, "log", "-1", "--format=%B", "refs/envflow/audit")
    return dict(line.split(": ", 1) for line in message.splitlines() if ": " in line)


def browser(base, user, password):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-extensions",
                "--user-data-dir=" + tempfile.mkdtemp(prefix="envflow-chromium-"),
                "--window-size=1280,1000", "--force-device-scale-factor=1"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    parts = urllib.parse.urlsplit(base)
    # Basic auth in the URL once; Chromium keeps the credentials for the
    # page's own requests (fetch, EventSource) to the same origin.
    driver.get(parts._replace(netloc=f"{user}:{password}@{parts.netloc}").geturl())
    return driver


# The page redraws itself whenever refs move: an element found a moment ago
# may be gone. Reads go through one script, waits ignore a vanished element.
def text_of(driver, element_id):
    return driver.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.innerText : ''", element_id)


def wait_for(driver, condition, what):
    try:
        return WebDriverWait(driver, WAIT, ignored_exceptions=(
            NoSuchElementException, StaleElementReferenceException)).until(lambda d: condition(d))
    except TimeoutException:
        check(what, False, "never happened; page: " + text_of(driver, "content")[:600])
        return None


def live(driver):
    return wait_for(driver, lambda d: d.find_element(By.ID, "live").text == "live",
                    "the page's live updates connect")


def head_shown(driver, env):
    return driver.execute_script(
        "var e = document.getElementById(arguments[0]); return e ? e.getAttribute('data-head') : null",
        "env-" + env)


def changes_shown(driver, env):
    """The text of the changes waiting to go on from `env`, once the page's
    script filled them in after the page was shown (None when it never did).
    textContent: the section is closed, and a closed <details> has no innerText."""
    return wait_for(driver, lambda d: d.execute_script(
        "var p = document.querySelector('#what-' + arguments[0] + ' .changes-lazy');"
        "return p && p.getAttribute('data-state') === 'loaded' ? p.textContent : null", env),
                    f"the changes waiting in {env} fill in after the page is shown")


def flash(driver):
    box = wait_for(driver, lambda d: d.execute_script(
        "var m = document.querySelector('#flash .message');"
        "return m ? [m.getAttribute('data-kind'), m.innerText] : null"),
                   "the page answers the press")
    return tuple(box) if box else ("", "")


def press(driver, action, url):
    """Click the submit button of the form for `action` on `url` (found
    again when a redraw replaced it between finding and clicking)."""
    driver.execute_script("document.getElementById('flash').replaceChildren()")
    selector = f'form[data-action="{action}"][data-url="{url}"] button[type=submit]'
    # The button may come with the redraw that follows the previous press.
    for attempt in range(5):
        button = wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, selector),
                          f"the page offers {action} on {url}")
        if button is None:
            return ("", "")
        try:
            button.click()
            break
        except StaleElementReferenceException:
            if attempt == 4:
                raise
    return flash(driver)


def shoot(driver, shots, name, open_details=()):
    if not shots:
        return
    for selector in open_details:
        driver.execute_script(
            "document.querySelectorAll(arguments[0]).forEach(e => { e.open = true; })", selector)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height, 700), 2400))
    driver.save_screenshot(os.path.join(shots, name))
    driver.set_window_size(1280, 1000)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--shots", default="")
    a = parser.parse_args()
    repo, base, shots = a.repo, a.url, a.shots
    drivers = []
    try:
        # 1. dana, in no group: reads the pipeline, sees no Sync button; a
        # Sync pressed anyway (a stale page, a hand-made form) is refused
        # with the CLI's reason and moves nothing.
        dana = browser(base, "dana", "dana-pw")
        drivers.append(dana)
        live(dana)
        check("dana sees the pipeline", "DEV" in text_of(dana, "env-dev"))
        check("dana sees no Sync button",
              not dana.find_elements(By.CSS_SELECTOR, 'form[data-action="sync"]'))
        test_before = git(repo, "rev-parse", "refs/heads/test")
        records_before = git(repo, "rev-parse", "refs/envflow/audit")
        dana.execute_script("""
            var f = document.createElement('form');
            f.className = 'act'; f.setAttribute('data-action', 'sync');
            f.setAttribute('data-url', '/api/sync/dev');
            var b = document.createElement('button'); b.type = 'submit'; b.className = 'btn btn-primary';
            b.textContent = 'Sync dev → test';
            f.appendChild(b);
            document.querySelector('#env-dev .promotion').appendChild(f);""")
        kind, text = press(dana, "sync", "/api/sync/dev")
        check("dana's press is refused with the reason", kind == "error" and
              "Not allowed:" in text and "dana may not promote into test" in text, text)
        check("nothing moved for dana", git(repo, "rev-parse", "refs/heads/test") == test_before)
        check("no record for dana", git(repo, "rev-parse", "refs/envflow/audit") == records_before)
        shoot(dana, shots, "serve-refused.png")
        dana.quit()
        drivers.remove(dana)

        # 2. bob, a release manager: presses Sync; the ref moves, the record names him.
        bob = browser(base, "bob", "bob-pw")
        drivers.append(bob)
        live(bob)
        # What waits: the page is shown first, the semantic diff (old -> new
        # values) fills in after it, from GET /api/diff.
        changes = changes_shown(bob, "dev")
        check("the changes waiting in dev show old and new values",
              changes is not None and "tone" in changes and "formal" in changes, str(changes))
        check("no placeholder is left loading",
              not bob.find_elements(By.CSS_SELECTOR, '.changes-lazy[data-state="loading"]'))
        shoot(bob, shots, "serve-pipeline.png", ["#what-dev"])
        kind, text = press(bob, "sync", "/api/sync/dev")
        dev = git(repo, "rev-parse", "refs/heads/dev")
        check("bob's Sync is done", kind == "ok" and "synced test" in text, text)
        check("test moved to dev's head", git(repo, "rev-parse", "refs/heads/test") == dev)
        record = last_record(repo)
        check("the record names bob", record.get("op") == "sync" and record.get("actor") == "bob"
              and record.get("env") == "test", json.dumps(record))
        wait_for(bob, lambda d: head_shown(d, "test") == dev, "the page shows test's new head")

        # 3. A change made with the CLI appears without a reload.
        bob.execute_script("window.envflowMarker = 'same page'")
        path = os.path.join(repo, "agents", "support.yaml")
        with open(path) as f:
            text_before = f.read()
        with open(path, "w") as f:
            f.write(text_before.replace("tone: formal", "tone: concise"))
        git(repo, "commit", "-qam", "Support agent: concise tone")
        envflow(repo, "bob", "sync", "dev")
        dev = git(repo, "rev-parse", "refs/heads/dev")
        shown = wait_for(bob, lambda d: head_shown(d, "test") == dev,
                         "a sync made with the CLI appears on the open page")
        check("a sync made with the CLI appears on the open page", shown is not None)
        check("without a reload",
              bob.execute_script("return window.envflowMarker") == "same page")

        # 4. carol (QA) approves into uat from the page; bob promotes; the
        # approval gate let it through.
        carol = browser(base, "carol", "carol-pw")
        drivers.append(carol)
        live(carol)
        check("carol sees no Sync button (she approves, she does not promote)",
              not carol.find_elements(By.CSS_SELECTOR, 'form[data-action="sync"]'))
        kind, text = press(carol, "approve", "/api/approve/uat")
        check("carol's approval is recorded", kind == "ok" and "approved" in text, text)
        record = last_record(repo)
        check("the approval record names carol",
              record.get("op") == "approve" and record.get("actor") == "carol", json.dumps(record))
        changes = changes_shown(carol, "test")
        check("after the redraws, the changes waiting in test are shown",
              changes is not None and "concise" in changes, str(changes))
        shoot(carol, shots, "serve-approved.png", ["#what-test"])
        carol.quit()
        drivers.remove(carol)
        wait_for(bob, lambda d: d.find_elements(By.CSS_SELECTOR, 'form[data-url="/api/sync/test"]'),
                 "bob's page shows the sync into uat")
        kind, text = press(bob, "sync", "/api/sync/test")
        check("bob syncs test → uat after the approval", kind == "ok" and "synced uat" in text, text)
        kind, text = press(bob, "sync", "/api/sync/uat")
        check("bob syncs uat → production", kind == "ok" and "synced production" in text, text)

        # 5. Publish from the page, then the release history and the audit log.
        wait_for(bob, lambda d: d.find_elements(By.CSS_SELECTOR, "details#publish"),
                 "bob's page offers Publish")
        # Filled again when a redraw replaced the form while it was being filled.
        for attempt in range(5):
            try:
                bob.execute_script("document.getElementById('publish').open = true")
                form = bob.find_element(By.CSS_SELECTOR, 'form[data-action="publish"]')
                message = form.find_element(By.NAME, "message")
                message.clear()
                message.send_keys("First release from the page")
                no_sign = form.find_element(By.NAME, "no_sign")
                if not no_sign.is_selected():
                    no_sign.click()
                break
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
        kind, text = press(bob, "publish", "/api/publish")
        check("bob publishes v1.0.0", kind == "ok" and "published v1.0.0" in text, text)
        check("v1.0.0 tags production",
              git(repo, "rev-parse", "v1.0.0^{commit}") == git(repo, "rev-parse", "production"))
        check("live is v1.0.0",
              git(repo, "rev-parse", "refs/envflow/live") == git(repo, "rev-parse", "refs/tags/v1.0.0"))
        wait_for(bob, lambda d: "v1.0.0" in text_of(d, "env-production"),
                 "the page shows what is live")
        shoot(bob, shots, "serve-published.png")
        bob.get(base + "releases")
        live(bob)
        check("the release history lists v1.0.0", "v1.0.0" in text_of(bob, "content"))
        shoot(bob, shots, "serve-releases.png")
        bob.get(base + "log?by=bob")
        actors = bob.execute_script(
            "return Array.from(document.querySelectorAll('table.log tbody .actor'), e => e.innerText)")
        check("the audit log filtered on bob", len(actors) >= 4 and set(actors) == {"bob"},
              str(actors))
        shoot(bob, shots, "serve-log.png")
        bob.get(base + "variables?env=production")
        check("the variables of production", "max_turns" in text_of(bob, "content"))
        shoot(bob, shots, "serve-variables.png")
    finally:
        for driver in drivers:
            try:
                for entry in driver.get_log("browser"):
                    if entry.get("level") == "SEVERE":
                        print("browser console:", entry.get("message"), flush=True)
            except Exception:  # a driver already gone
                pass
            driver.quit()
    print(f"{len(FAILED)} browser check(s) failed" if FAILED else "all browser checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
