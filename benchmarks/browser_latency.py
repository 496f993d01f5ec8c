"""What a JupyterLab user feels: Shift+Enter on `1+1` until its output shows,
and the execute -> reply round trip over the browser's own WebSocket (in a
page of its own, without JupyterLab), in real headless Chromium against three
JupyterLab servers side by side.

Shift+Enter is timed two ways, each in a notebook (and kernel) of its own:
running through a notebook's existing cells (the next cell is selected), and
at the notebook's last cell (JupyterLab inserts a new cell, in which the next
`1+1` is typed). The servers:

- the extension on, with TCP_NODELAY (its default);
- the extension on, `--SessionRegistry.tcp_nodelay=False` (stock sockets);
- the extension disabled (stock jupyter_server).

    .venv/bin/python benchmarks/browser_latency.py [--cells 40] [--no-write]

Rounds alternate between the servers; p50/p90 of each go to
benchmarks/RESULTS.md ("browser" section). Needs Debian's /usr/bin/chromium
(`make chromium`) and Playwright for Python (in the test extras).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from harness import machine, update_results
from server_process import JupyterServer

CHROMIUM = "/usr/bin/chromium"
CONFIGS = [
    ("extension on, TCP_NODELAY (default)", True, []),
    ("extension on, tcp_nodelay=False", True, ["--SessionRegistry.tcp_nodelay=False"]),
    ("extension disabled (stock)", False, []),
]
MODES = {
    "through": "through existing cells",
    "end": "at the last cell (a new cell each time)",
}


def notebook(cells: int) -> str:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"c{i}",
                    "metadata": {},
                    "outputs": [],
                    "source": "1+1",
                }
                for i in range(cells)
            ],
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


# In the page: time from the Shift+Enter keydown to the output "2" in the
# cell that ran, measured with the page's own clock.
TIME_SHIFT_ENTER = """
(index) => { window.__latency = new Promise((resolve, reject) => {
  const cells = () => document.querySelectorAll('.jp-Notebook .jp-Cell');
  let t0 = null;
  const done = () => {
    const cell = cells()[index];
    const out = cell && cell.querySelector('.jp-OutputArea-output');
    if (t0 !== null && out && out.textContent.trim() === '2') {
      observer.disconnect(); resolve(performance.now() - t0); return true;
    }
    return false;
  };
  const observer = new MutationObserver(done);
  observer.observe(document.querySelector('.jp-Notebook'), {childList: true, subtree: true,
                                                            characterData: true});
  // Not `once`: the Shift key's own keydown comes first.
  const onKey = e => {
    if (e.key === 'Enter' && e.shiftKey && t0 === null) {
      t0 = window.__keydown = performance.now();
      window.removeEventListener('keydown', onKey, {capture: true});
    }
  };
  window.addEventListener('keydown', onKey, {capture: true});
  setTimeout(() => reject(new Error('no output in 30 s')), 30000);
}); }
"""

# In the notebook's page, before JupyterLab loads: when each kernel message is
# sent and handed to JupyterLab (its "message" event), and when the page's
# main thread is next free after a send (a timer set at the send fires), to
# split Shift+Enter -> output into the network and JupyterLab's own work.
WEBSOCKET_LOG = """
(() => {
  const Base = window.WebSocket;
  window.__ws = [];
  const kind = data => {
    try {
      const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
      const type = text.match(/"msg_type":\\s*"([a-z_]+)"/);
      return type ? type[1] : '';
    } catch (e) { return ''; }
  };
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', ev => window.__ws.push(['in', kind(ev.data), performance.now()]));
    }
    send(data) {
      window.__ws.push(['out', kind(data), performance.now()]);
      setTimeout(() => window.__ws.push(['free', '', performance.now()]), 0);
      return super.send(data);
    }
  };
})();
"""

# In a page of its own (no JupyterLab in it: the notebook page's main thread
# also handles the kernel's broadcast of these executions, which would be
# measured too): n sequential execute_request -> execute_reply round trips on
# a WebSocket of the browser's own, to the notebook's kernel.
RAW_ROUND_TRIPS = """
async ([url, n]) => {
  const ws = new WebSocket(url);
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  const times = [];
  const session = crypto.randomUUID();
  for (let i = 0; i < n; i++) {
    const msgId = crypto.randomUUID();
    const reply = new Promise(ok => {
      ws.onmessage = ev => {
        const m = JSON.parse(ev.data);
        if (m.header.msg_type === 'execute_reply' && m.parent_header.msg_id === msgId) ok();
      };
    });
    const t0 = performance.now();
    ws.send(JSON.stringify({
      header: {msg_id: msgId, msg_type: 'execute_request', session, username: 'bench',
               date: new Date().toISOString(), version: '5.3'},
      parent_header: {}, metadata: {}, channel: 'shell', buffers: [],
      content: {code: '1+1', silent: false, store_history: false, user_expressions: {},
                allow_stdin: false, stop_on_error: true}}));
    await reply;
    times.push(performance.now() - t0);
  }
  ws.close();
  return times;
}
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Notebook:
    """A Chromium page on one notebook of a server, Shift+Enter timed in it
    (`mode`: a key of MODES)."""

    def __init__(self, browser, server: JupyterServer, mode: str, cells: int) -> None:
        self.mode = mode
        name = f"latency-{mode}.ipynb"
        # Through existing cells: one per Shift+Enter, and the warm-ups'.
        (server.root / name).write_text(notebook(cells + 4 if mode == "through" else 1))
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.add_init_script(WEBSOCKET_LOG)
        self.steps: list[tuple[float, float, float]] = []
        self.page.goto(f"{server.url}lab/tree/{name}?reset&token={server.token}")
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        self.wait_idle()  # the kernel is up
        self.index = 0
        self.page.click(".jp-Notebook .jp-Cell .jp-InputArea-editor")
        # Warm up: the first execution pays for imports. Now and then JupyterLab
        # runs the cell before the notebook's kernel is attached, for any of the
        # three servers: nothing executes, and the next cell has the focus.
        for attempt in range(3):
            try:
                self.shift_enter()
                break
            except PlaywrightError:
                if attempt == 2:
                    raise
                self.index += 1
                if mode == "end":
                    self.page.keyboard.type("1+1")
        self.steps.clear()

    def wait_idle(self) -> None:
        # The toolbar's kernel status: the last execution is over.
        self.page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000
        )

    def shift_enter(self) -> float:
        self.wait_idle()
        # The tab a user types in is the one in front (a tab behind gets no
        # animation frames: JupyterLab would not run the cell).
        self.page.bring_to_front()
        self.page.evaluate("window.__ws = []")
        self.page.evaluate(TIME_SHIFT_ENTER, self.index)
        self.page.keyboard.press("Shift+Enter")
        elapsed = self.page.evaluate("window.__latency")
        self.steps.append(self._steps(self.page.evaluate("[window.__keydown, window.__ws]")))
        self.index += 1
        if self.mode == "end":
            # Shift+Enter on the last cell adds an empty one below, in edit mode.
            self.page.wait_for_function(
                f"document.querySelectorAll('.jp-Notebook .jp-Cell').length > {self.index}"
            )
            self.page.keyboard.type("1+1")
        return elapsed

    @staticmethod
    def _steps(log: list) -> tuple[float, float, float]:
        """(keydown -> execute_request sent, sent -> main thread free, sent ->
        execute_result handed to JupyterLab), in ms."""
        keydown, events = log
        sent = next(t for d, k, t in events if d == "out" and k == "execute_request")
        free = next(t for d, _k, t in events if d == "free" and t >= sent)
        result = next(t for d, k, t in events if d == "in" and k == "execute_result")
        return sent - keydown, free - sent, result - sent


class Lab:
    """One JupyterLab server, a page per Shift+Enter mode, and a page for the
    raw round trips."""

    def __init__(self, browser, label: str, enabled: bool, args: list[str], cells: int) -> None:
        self.label = label
        self.server = JupyterServer(
            enabled, ["--LabApp.workspaces_dir={dir}/workspaces", *args], app="jupyterlab"
        )
        self.notebooks: dict[str, Notebook] = {}
        self.raw_page = None
        try:
            for mode in MODES:
                self.notebooks[mode] = Notebook(browser, self.server, mode, cells)
            # A plain page of the server's origin (a static file: its CSP
            # allows connecting back), in a context of its own.
            self.raw_page = browser.new_context().new_page()
            self.raw_page.goto(f"{self.server.url}static/favicon.ico")
        except BaseException:
            self.close()
            raise

    def raw_round_trips(self, n: int) -> list[float]:
        # Any of the server's kernels: both notebooks' are idle between rounds.
        kernels = self.server.get("api/kernels")
        url = (
            f"ws://127.0.0.1:{self.server.port}/api/kernels/{kernels[0]['id']}/channels"
            f"?token={self.server.token}"
        )
        return self.raw_page.evaluate(RAW_ROUND_TRIPS, [url, n])

    def close(self) -> None:
        if self.raw_page is not None:
            self.raw_page.context.close()
        for nb in self.notebooks.values():
            nb.page.close()
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=40, help="Shift+Enters per server and mode")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rounds = 4
    per_round = max(1, args.cells // rounds)
    labels = [label for label, _, _ in CONFIGS]
    shift = {(label, mode): [] for label in labels for mode in MODES}
    raw: dict[str, list[float]] = {label: [] for label in labels}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        labs: list[Lab] = []
        try:
            for config in CONFIGS:
                labs.append(Lab(browser, *config, cells=per_round * rounds))
            for r in range(rounds):
                order = labs if r % 2 == 0 else labs[::-1]
                for lab in order:
                    for mode, nb in lab.notebooks.items():
                        for _ in range(per_round):
                            shift[lab.label, mode].append(nb.shift_enter())
                    raw[lab.label] += lab.raw_round_trips(per_round)
                    time.sleep(0.2)
        finally:
            for lab in labs:
                lab.close()
            browser.close()
    stock = labels[2]
    lines = [
        "## In the browser\n",
        f"`benchmarks/browser_latency.py --cells {args.cells}`, "
        f"{time.strftime('%Y-%m-%d')} on {machine()}: headless Chromium, three JupyterLab "
        f"servers side by side, {rounds} alternating rounds. Shift+Enter on `1+1` -> its "
        "output, in a notebook of its own per way: through existing cells (the next cell is "
        "selected), and at the last cell (JupyterLab inserts a new one).\n",
        "| server | Shift+Enter through cells p50 | p90 | vs stock | Shift+Enter at the last "
        "cell p50 | p90 | vs stock | raw WebSocket execute -> reply p50 (a page without "
        "JupyterLab) | p90 | vs stock |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label in labels:
        cells = []
        for values, base in (
            (shift[label, "through"], shift[stock, "through"]),
            (shift[label, "end"], shift[stock, "end"]),
            (raw[label], raw[stock]),
        ):
            cells += [
                f"{pct(values, 50):.1f} ms",
                f"{pct(values, 90):.1f} ms",
                f"{statistics.median(values) / statistics.median(base):.2f}x",
            ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Where Shift+Enter's time goes (medians, ms; \"handed to JupyterLab\" is when the page's "
        "main thread dispatches the message, which it does only once it is free):\n",
        "| server | Shift+Enter | keydown -> execute_request sent | sent -> main thread next "
        "free | sent -> execute_result handed to JupyterLab |",
        "|---|---|---|---|---|",
    ]
    for lab in labs:
        for mode, nb in lab.notebooks.items():
            steps = list(zip(*nb.steps, strict=True))
            lines.append(
                f"| {lab.label} | {MODES[mode]} | "
                + " | ".join(f"{statistics.median(step):.1f}" for step in steps)
                + " |"
            )
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        update_results("browser", text)


if __name__ == "__main__":
    main()
