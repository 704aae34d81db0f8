#!/usr/bin/env python3
"""Opens HTML charts written by `demo --plot` and `backtest --plot` in a real headless Chromium, as a user would,
hovers a node line and a decision marker, and checks what the tooltips say against the chart's own data.

Usage: chart-browser.py CHROMIUM CHROMEDRIVER FILE.html...   (scripts/checks/chart-browser.sh runs it)
"""
import json
import os
import re
import sys
from datetime import datetime, timezone

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By

chromium, chromedriver, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
failures = []


def check(condition, message):
    print(("ok    " if condition else "FAIL  ") + message)
    if not condition:
        failures.append(message)


options = webdriver.ChromeOptions()
options.binary_location = chromium
for argument in ("--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1100",
                 "--force-device-scale-factor=1"):
    options.add_argument(argument)
if os.geteuid() == 0:
    options.add_argument("--no-sandbox")  # Chromium refuses to run as root with its sandbox
# The driver is Debian's chromium-driver, given by path: nothing is downloaded.
driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)

# A point of an SVG element (its own coordinates) in the viewport's CSS pixels.
TO_CLIENT = """
const el = arguments[0], x = arguments[1], y = arguments[2];
const svg = el.ownerSVGElement;
const p = svg.createSVGPoint(); p.x = x; p.y = y;
const q = p.matrixTransform(el.getScreenCTM());
return [q.x, q.y];
"""


def hover(x, y):
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
    actions.perform()


def tooltip():
    tip = driver.find_element(By.ID, "tooltip")
    return tip.text if tip.is_displayed() else ""


def utc(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


try:
    for page in pages:
        name = os.path.basename(page)
        driver.get("file://" + os.path.abspath(page))
        data = json.loads(driver.find_element(By.ID, "chart-data").get_attribute("textContent"))
        title = driver.title
        headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h1")]
        svg_texts = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#chart svg text")]
        check(headings == [title] and title not in svg_texts, f"{name}: the title is shown once ({title!r})")
        driver.save_screenshot(os.path.splitext(page)[0] + ".png")

        # --- a node line: the joining node's (last) line, a third of the way along ---------------------------------
        index = len(data["nodes"]) - 1
        line = driver.find_element(By.CSS_SELECTOR, f'polyline.node-line[data-series="{index}"]')
        length = driver.execute_script("return arguments[0].getTotalLength();", line)
        px, py = driver.execute_script(
            "const p = arguments[0].getPointAtLength(arguments[1]); return [p.x, p.y];", line, length / 3)
        x, y = driver.execute_script(TO_CLIENT, line, px, py)
        # Lines drawn later lie on top where lines meet: the tooltip must name whichever line is under the pointer.
        under = driver.execute_script(
            "const e = document.elementFromPoint(arguments[0], arguments[1]);"
            "return e && e.hasAttribute('data-series') ? Number(e.getAttribute('data-series')) : null;", x, y)
        hover(x, y)
        text = tooltip()
        check(under is not None, f"{name}: a node line is under the pointer at ({x:.0f}, {y:.0f})")
        if under is not None:
            node = data["nodes"][under]
            lines = text.split("\n")
            check(len(lines) == 3 and lines[0] == f'{node["short"]} ({node["name"]})',
                  f"{name}: hovering {node['short']}'s line names it: {text!r}")
            shown = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC) \(\+[0-9dhms]+\)$", lines[1]) if len(lines) > 1 else None
            value = re.match(r"(\S+) live connections$", lines[2]) if len(lines) > 2 else None
            at = {utc(t): v for t, v in node["points"] if v is not None}
            check(shown is not None and value is not None and shown.group(1) in at
                  and float(value.group(1)) == at[shown.group(1)],
                  f"{name}: the tooltip's value is the node's sample at the time it shows: {lines[1:]!r}")

        # --- a decision marker: the first rebalance, hovered in the label band above the lines -------------------
        decisions = [i for i, m in enumerate(data["markers"]) if m["kind"] == "rebalance"]
        check(bool(decisions), f"{name}: the chart marks a rebalance decision")
        if decisions:
            i = decisions[0]
            marker = data["markers"][i]
            hit = driver.find_element(By.CSS_SELECTOR, f'line.marker-hit[data-marker="{i}"]')
            mx, my = float(hit.get_attribute("x1")), float(hit.get_attribute("y1")) + 4
            x, y = driver.execute_script(TO_CLIENT, hit, mx, my)
            hover(x, y)
            text = tooltip()
            check(text.startswith(marker["label"] + "\n"), f"{name}: the marker's tooltip starts with {marker['label']!r}")
            check(bool(marker["formula"]) and ("formula: " + marker["formula"]) in text,
                  f"{name}: the marker's tooltip shows its formula: {marker['formula']!r}")
            check(all(w in text for w in marker["whyNot"]) and (not marker["whyNot"] or "why not:" in text),
                  f"{name}: the marker's tooltip shows the other rules' why-not ({len(marker['whyNot'])} line(s))")
            row = driver.find_element(By.ID, f"marker-{i}")
            check("highlight" in (row.get_attribute("class") or ""), f"{name}: the decision's table row is highlighted")
            cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
            check(len(cells) == 5 and cells[2] == marker["label"] and cells[3] == marker["formula"],
                  f"{name}: the table lists the decision with its formula")
        driver.save_screenshot(os.path.splitext(page)[0] + "-hover.png")

        # --- off every line and marker, the tooltip goes away ---------------------------------------------------
        corner = driver.find_element(By.CSS_SELECTOR, "#chart svg > rect")
        x, y = driver.execute_script(TO_CLIENT, corner, 5, 5)
        hover(x, y)
        check(tooltip() == "", f"{name}: the tooltip hides off the lines")
finally:
    driver.quit()

print(f"{len(failures)} failed" if failures else "browser checks passed")
sys.exit(1 if failures else 0)
