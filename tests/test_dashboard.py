"""The dashboard: its levers, drawing and events (no browser), and the page itself driven in
a real Chromium (Playwright against the system's /usr/bin/chromium).

The browser test fails loudly when Chromium or Playwright is missing (CI installs both);
set RECHAIN_NO_BROWSER=1 to skip it on a developer machine without a browser. Its
screenshot is saved to $RECHAIN_TEST_ARTIFACTS (default outputs/test-artifacts/).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from support import BASELINE

from rechain.dashboard.chain import chain_svg, stage_state
from rechain.dashboard.events import fired, scenario_events
from rechain.dashboard.levers import MYANMAR_STOP, Levers, apply_levers, scenario_files
from rechain.model import ChainModel, forget_model
from rechain.scenario import load_scenario, scenario_hash

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("RECHAIN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# --- levers, events, drawing: no browser ---------------------------------------------------
def test_neutral_levers_leave_every_shipped_scenario_as_it_is():
    files = scenario_files(ROOT / "scenarios")
    assert list(files)[0] == "baseline" and len(files) >= 10
    for path in files.values():
        sc = load_scenario(path)
        assert scenario_hash(apply_levers(sc, Levers())) == scenario_hash(sc)


def test_each_lever_changes_what_it_says():
    sc = load_scenario(BASELINE)
    out = apply_levers(sc, approval=0.5, myanmar_stop_months=3, quota_growth_pct=10, eol_target=0.3,
                       restock=2.0, wait=0.5, news=False)
    rates = [s.rate for c in out.export_controls for s in c.approval]
    assert rates == [0.5 * s.rate for c in sc.export_controls for s in c.approval]
    stop = [d for d in out.disruptions if d.name == MYANMAR_STOP]
    assert len(stop) == 1 and stop[0].target == "myanmar_holders" and stop[0].capacity_offline_share == 1.0
    assert (str(stop[0].start), str(stop[0].end)) == ("2025-05-01", "2025-07-31")
    q0 = {(q.type, q.year): q.total_t for q in sc.quota_policy.quotas}
    for q in out.quota_policy.quotas:
        factor = 1.1 ** max(0, q.year - 2024)
        assert q.total_t == pytest.approx(q0[(q.type, q.year)] * factor)
    assert out.recycling.collection[-1].year == 2026 and out.recycling.collection[-1].rate == 0.3
    assert out.behaviour.restock_strength == pytest.approx(2 * sc.behaviour.restock_strength)
    assert out.behaviour.wait_strength == pytest.approx(0.5 * sc.behaviour.wait_strength)
    assert out.news == [] and sc.news
    assert len(Levers(approval=0.5, news=False).changes()) == 2


def test_the_picker_lists_regular_files_only(tmp_path):
    """A named pipe called *.toml beside the scenarios waited forever for a writer when the
    picker opened it, and the page never came up: only regular files are listed."""
    (tmp_path / "baseline.toml").write_text(BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.toml")
    (tmp_path / "folder.toml").mkdir()
    assert list(scenario_files(tmp_path)) == ["baseline"]


def test_quota_growth_over_decades_stays_a_valid_scenario(tmp_path):
    """+30 %/yr compounded to 2060 passed the largest quota a file may give (1e8 t) and the
    lever ended in an uncaught error naming generated quota items: it is held at the bound,
    where it binds nothing, and the scenario loads."""
    from rechain.config.schema import MAX_T_PER_YR
    long = tmp_path / "long.toml"
    long.write_text(f'extends = "{BASELINE.as_posix()}"\nend = 2060-12-31\n', encoding="utf-8")
    sc = load_scenario(long)
    out = apply_levers(sc, quota_growth_pct=30)
    totals = {(q.type, q.year): q.total_t for q in out.quota_policy.quotas}
    assert max(totals.values()) == MAX_T_PER_YR
    assert totals[("mining_rock", 2030)] > 2 * {(q.type, q.year): q.total_t for q in sc.quota_policy.quotas}[("mining_rock", 2030)]


def test_events_fire_in_date_order():
    sc = load_scenario(BASELINE)
    ev = scenario_events(sc)
    assert [e.date for e in ev] == sorted(e.date for e in ev)
    assert {e.kind for e in ev} >= {"news", "licences", "quota"}
    import datetime as dt
    shown = fired(ev, dt.date(2025, 4, 10), last=50)
    assert shown and all(e.date <= dt.date(2025, 4, 10) for e in shown)
    assert any("export licences required" in e.text for e in shown)
    assert fired(ev, dt.date(2023, 1, 1)) == []


def test_chain_drawing_shows_stages_flows_and_moods():
    sc = load_scenario(BASELINE)
    m = ChainModel(sc, seed=0)
    try:
        svg0 = chain_svg(m)
        assert svg0.startswith("<svg") and 'data-week="0"' in svg0
        for _ in range(4):
            m.step()
        st = stage_state(m)
        assert "state_reserve" not in st            # no reserve in the baseline: not drawn
        assert {"miners", "separation_plants", "magnet_makers", "overseas_buyers"} <= set(st)
        mood = np.bincount(m.world.firms.stage, weights=m.firms.expected_change)
        s = m.world.stages.index("magnet_makers")
        assert st["magnet_makers"]["mood"] == pytest.approx(mood[s] / np.sum(m.world.firms.stage == s))
        svg = chain_svg(m)
        assert 'data-week="4"' in svg and 'data-stage="state_reserve"' not in svg
        tonnes = [float(t) for t in re.findall(r'data-tonnes="([\d.]+)"', svg)]
        between = m.recorder.flows[3].sum(axis=2)
        assert sum(tonnes) == pytest.approx(between.sum() - np.trace(between), rel=1e-3)
    finally:
        forget_model(m)


def test_dashboard_charts_draw_at_any_week():
    from rechain.dashboard.charts import charts_figure

    m = ChainModel(load_scenario(BASELINE), seed=0)
    try:
        for n in (0, 3):
            while m.week < n:
                m.step()
            fig = charts_figure(m)
            # six panels, and the shortfall panel's own axis on the right for the blanks not made
            assert len(fig.axes) == 7
            assert all(ax.get_ylabel() for ax in fig.axes)
            # no negative prices or tonnes, even on a panel with nothing to draw yet
            assert all(ax.get_ylim()[0] >= 0 for ax in fig.axes), [ax.get_ylim() for ax in fig.axes]
            # the blanks the makers could not make, week by week, on the shortfall panel's twin
            # axis: on its own axis it dwarfed a shortfall near zero (an outside student's audit)
            lines = {ln.get_label(): ln.get_ydata() for ln in fig.axes[6].get_lines()}
            blanks = lines["makers: planned blanks not made (right axis)"]
            assert np.array_equal(blanks, m.recorder.input_short[:n].sum(axis=1))
            assert fig.axes[6].bbox.bounds == fig.axes[5].bbox.bounds
            # refusals beside the queue: approvals cut to zero shorten the queue and fill this
            lic = {ln.get_label(): ln.get_ydata() for ln in fig.axes[4].get_lines()}
            assert np.array_equal(lic["refused this week (t)"], m.recorder.lic_refused[:n])
    finally:
        forget_model(m)


# --- the page in a real browser ----------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the dashboard server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the dashboard server did not listen on port {port} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def dashboard_url(tmp_path_factory):
    if os.environ.get("RECHAIN_NO_BROWSER") == "1":
        pytest.skip("RECHAIN_NO_BROWSER=1: browser test skipped")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: the dashboard test needs Chromium (apt-get install chromium; "
                    f".ci/run installs it), or set RECHAIN_NO_BROWSER=1 to skip it")
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard") / "server.log"
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "rechain.cli", "dashboard", str(BASELINE),
                                 "--port", str(port)], stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT,
                                start_new_session=True)
    try:
        _wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/"
    except AssertionError as e:
        raise AssertionError(f"{e}\n{log.read_text()[-3000:]}") from None
    finally:
        proc.terminate()                  # rechain dashboard stops its server, then itself
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)     # its own session: the server with it
            proc.wait()


def _steps(page) -> int:
    text = page.get_by_text(re.compile(r"^Step: \d+$")).inner_text()
    return int(text.split(":")[1])


def _wait_steps(page, pred, timeout_s: float = 60.0) -> int:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        n = _steps(page)
        if pred(n):
            return n
        page.wait_for_timeout(200)
    raise AssertionError(f"the step counter stayed at {_steps(page)}")


def _flows(page) -> list[float]:
    return [float(x) for x in page.locator("svg.rechain-chain path.flow").evaluate_all(
        "els => els.map(e => e.getAttribute('data-tonnes'))")]


def test_dashboard_in_a_browser(dashboard_url):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e \".[test]\"")
    artefacts = Path(os.environ.get("RECHAIN_TEST_ARTIFACTS", ROOT / "outputs" / "test-artifacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1400})

            def route(r):
                if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)[:/]", r.request.url) or \
                        r.request.url.startswith(("data:", "blob:")):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()
            page.route("**/*", route)
            page.goto(dashboard_url)
            step = page.get_by_role("button", name="Step")
            step.wait_for(timeout=90_000)
            assert _steps(page) == 0
            page.locator("svg.rechain-chain").wait_for()
            # Step advances the week, and the chain and charts follow
            for n in (1, 2, 3):
                step.click()
                _wait_steps(page, lambda k, n=n: k >= n)
            page.wait_for_function("document.querySelector('svg.rechain-chain').dataset.week === '3'")
            first = _flows(page)
            assert sum(first) > 0
            assert page.locator("svg.rechain-chain g.stage").count() >= 8
            assert page.locator("img").count() >= 1           # the charts
            # one page, so no tab bar naming it "Page 0" (Mesa's own)
            assert page.get_by_text(re.compile(r"^Page \d+$")).count() == 0
            traders = page.locator('svg.rechain-chain g.stage[data-stage="traders"]')
            assert re.search(r"holds \S+ \w+ of \S+ kt", traders.text_content())      # their stock of their storage
            # Play runs on by itself until paused
            page.get_by_role("button", name="▶").click()
            _wait_steps(page, lambda k: k >= 8)
            page.get_by_role("button", name="❚❚").click()
            stopped = _wait_steps(page, lambda k: k >= 8)
            page.wait_for_timeout(800)
            assert _steps(page) <= stopped + 2
            # a lever and Reset change the run: restocking to its maximum
            slider = page.get_by_role("slider").nth(6)      # play, render, then the levers in order
            label = page.get_by_text(re.compile(r"^Restocking x: "))
            assert label.inner_text() == "Restocking x: 1"
            slider.focus()
            page.keyboard.press("End")
            page.get_by_text("Restocking x: 3").wait_for()
            page.get_by_role("button", name="Reset").click()
            _wait_steps(page, lambda k: k == 0)
            page.get_by_text(re.compile("levers: restocking strength x3")).wait_for()
            for n in (1, 2, 3):
                step.click()
                _wait_steps(page, lambda k, n=n: k >= n)
            page.wait_for_function("document.querySelector('svg.rechain-chain').dataset.week === '3'")
            second = _flows(page)
            assert second != first, "restocking x3 left the week-3 flows unchanged"
            page.wait_for_timeout(500)
            page.screenshot(path=str(artefacts / "dashboard.png"), full_page=True)
        finally:
            browser.close()
    assert (artefacts / "dashboard.png").stat().st_size > 10_000
    assert outside == [], f"the page asked for things off this machine: {outside[:5]}"


@pytest.mark.parametrize("how, status, says", [
    ("SIGTERM", 143, "terminated: the dashboard server stopped (SIGTERM)"),
    # Ctrl-C in a terminal signals the whole process group, the server too: it had ended with
    # the server's own status, 254
    ("Ctrl-C", 130, "stopped: the dashboard server stopped (Ctrl-C)"),
])
def test_dashboard_command_stops_its_server_when_stopped(tmp_path, how, status, says):
    """SIGTERM to rechain dashboard, or Ctrl-C to its process group, stops the Solara server it
    started (no orphan left), with one line and status 143 (130 for Ctrl-C), as every command
    ends on SIGTERM and a sweep on Ctrl-C."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rechain.cli", "dashboard", str(BASELINE), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, start_new_session=True)
    try:
        _wait_for_port(port, proc)
        if how == "SIGTERM":
            proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=20) == status
        _, err = proc.communicate(timeout=5)          # reads and closes the pipe
        assert says in err.decode(), err.decode()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the server still listens after rechain dashboard was stopped")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stderr.close()


def test_dashboard_model_takes_the_page_levers():
    """The page's model class, built as SolaraViz's Reset builds it (keyword levers), in a
    separate interpreter (Solara is imported there only)."""
    code = """
import inspect, json
from pathlib import Path
ROOT = Path.cwd()
from rechain.dashboard.app import DashboardModel, model_params
params = model_params()
assert set(params) <= set(inspect.signature(DashboardModel.__init__).parameters), params
assert params["scenario"]["value"] == "baseline" and "state_stockpile" in params["scenario"]["values"]
from rechain.dashboard.app import _loadable
data = ROOT / "tests" / "data"
assert "calendar_2024_2026" not in _loadable(str(data), str(data / "tiny.toml")) and "tiny" in _loadable(str(data), str(data / "tiny.toml"))
m = DashboardModel(**{k: v["value"] for k, v in params.items()})
n = DashboardModel(scenario="state_stockpile", approval=0.5, myanmar_stop_months=3, quota_growth_pct=5,
                   eol_target_pct=30, restock=2.0, wait=0.5, news=False, seed=3)
for model in (m, n):
    model.step(); model.step()
from rechain.dashboard.app import run_ended_html
assert run_ended_html(m) == ""
while m.running:
    m.step()
assert "The run has ended" in run_ended_html(m) and str(m.scenario.end) in run_ended_html(m)
print(json.dumps({"steps": [m.steps, n.steps], "names": [m.scenario.name, n.scenario.name],
                  "changes": n.levers.changes(), "news": len(n.scenario.news), "events": len(m.events)}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "RECHAIN_DASHBOARD_SCENARIO": str(BASELINE),
                              "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr[-2000:]
    import json
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["steps"][1] == 2 and got["steps"][0] > 100 and got["names"] == ["baseline", "state_stockpile"]
    assert len(got["changes"]) == 7 and got["news"] == 0 and got["events"] > 10


def test_dashboard_refuses_a_bad_scenario_before_serving(tmp_path):
    from click.testing import CliRunner

    from rechain.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "nowhere.toml"\n')
    res = CliRunner().invoke(main, ["dashboard", str(bad), "--port", "1"])
    assert res.exit_code == 2 and "nowhere.toml" in res.output and "http://" not in res.output


def test_the_server_keeps_solaras_cookie_warning_from_the_terminal(monkeypatch):
    """Served on 127.0.0.1, Solara printed eighteen lines about samesite cookies at the first
    page load, which a student can do nothing about (an outside student's audit)."""
    from rechain.dashboard import server_env
    monkeypatch.setenv("PYTHONWARNINGS", "error::DeprecationWarning")
    env = server_env(BASELINE)
    assert env["PYTHONWARNINGS"].split(",") == ["error::DeprecationWarning",
                                                "ignore:Cookies with samesite=none require https:UserWarning"]
    import warnings
    with warnings.catch_warnings(record=True) as seen:
        warnings.resetwarnings()
        for rule in env["PYTHONWARNINGS"].split(","):
            warnings._setoption(rule)       # as the server's Python reads PYTHONWARNINGS
        warnings.warn("Cookies with samesite=none require https, but ...", UserWarning)
    assert not seen


def test_the_picker_leaves_out_files_that_only_score_their_parent(tmp_path):
    """holdout_2024.toml is the baseline with another facts table: listed, it was a second
    baseline under another name (an outside student's audit). A file that changes anything
    in the run, or cannot be read, stays listed."""
    (tmp_path / "baseline.toml").write_text(BASELINE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "held_out.toml").write_text('extends = "baseline.toml"\nname = "held_out"\n'
                                            'facts_file = "f.csv"\n', encoding="utf-8")
    (tmp_path / "what_if.toml").write_text('extends = "baseline.toml"\nfacts_file = "f.csv"\n'
                                           '[behaviour]\nrestock_strength = 2.0\n', encoding="utf-8")
    (tmp_path / "broken.toml").write_text('extends = "baseline.toml"\nname = \n', encoding="utf-8")
    assert list(scenario_files(tmp_path)) == ["baseline", "broken", "what_if"]
    assert "holdout_2024" not in scenario_files(ROOT / "scenarios")
