"""Findings of a fifth outside-style round (an economist writing what-ifs against another era
and a projection): each case as the outsider met it, held here."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from support import what_if as _what_if

from rechain.cli import main


# --- compare: what an export ban on oxides costs buyers abroad ---------------------------------
def test_compare_shows_the_oxide_shortfall_and_oxide_exports_abroad(tmp_path):
    """A ban on Dy and Tb oxide exports falls on magnet makers abroad: the comparison shows
    their shortfall and the oxide exports it stops, not only magnets (where the ban read as
    costless: -13 t)."""
    from rechain.experiments.compare import compare
    ref = _what_if(tmp_path, "end = 2024-09-30\n", "ref")
    ban = _what_if(tmp_path, 'end = 2024-09-30\n[[export_controls]]\nname = "ban"\nproducts = ["dy_oxide", "tb_oxide"]\n'
                   'start = 2024-01-15\napproval = [{ start = 2024-01-15, rate = 0.0 }]\n', "ban")
    comp = compare([ref, ban], seeds=[0], workers=1, runs_dir=None, out_dir=tmp_path / "cmp", figures=False)
    short = comp.kpis.loc[("shortfall_overseas_oxide_metal_t", "t")]
    assert short["ban"] > short["ref"] + 10.0
    exported = comp.kpis.loc[("exports_oxide_metal_t", "t")]
    assert exported["ban"] < exported["ref"]
    md = (tmp_path / "cmp" / "kpis.md").read_text(encoding="utf-8")
    assert "| overseas shortfall, oxide and metal | t |" in md
    assert "| oxide and metal exports | t |" in md


# --- check: a duty or tariff on buyers who do not answer the landed price ----------------------
@pytest.mark.parametrize("kind, regions, said", [
    ("export_duties", '["all"]', "export_duties[0] (d): the buyers of ['eu', 'japan_korea', 'asean_india', 'rest_of_world'] do not answer"
     " the landed price (price_elasticity 0): it changes what they pay, not what they buy"),
    ("export_duties", '["eu"]', "export_duties[0] (d): the buyers of ['eu'] do not answer"),
    ("import_tariffs", '["us", "eu"]', "import_tariffs[3] (d): the buyers of ['eu'] do not answer the landed price"
     " (price_elasticity 0): it changes what they pay, not what they buy"),
])
def test_check_says_which_buyers_a_duty_cannot_move(tmp_path, kind, regions, said):
    """A 25 % duty on all buyers moved exports -0.3 % without a word: only the US buyers answer
    the landed price in the baseline."""
    body = f'[[{kind}]]\nname = "d"\nproducts = ["magnet_uh"]\nregions = {regions}\nstart = 2025-01-01\nrate_share = 0.25\n'
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0, res.output
    assert said in res.output.replace("\n", " ").replace("  ", " ")


def test_check_is_quiet_for_a_duty_on_buyers_who_answer_it(tmp_path):
    body = '[[export_duties]]\nname = "d"\nproducts = ["magnet_uh"]\nregions = ["us"]\nstart = 2025-01-01\nrate_share = 0.25\n'
    res = CliRunner().invoke(main, ["check", str(_what_if(tmp_path, body))])
    assert res.exit_code == 0 and "landed price" not in res.output, res.output


# --- a quota for a year the base lacks needs no batches ------------------------------------------
def test_a_quota_without_batches_is_issued_on_the_first_of_january(tmp_path):
    """As export quotas: a year's quota written with its total only is all issued on 1 January
    (it was refused for a year the base lacks, accepted for one it has)."""
    from rechain.scenario import load_scenario
    body = ('end = 2027-12-31\n[[quota_policy.quotas]]\ntype = "mining_rock"\nyear = 2027\ntotal_t = 250000\n')
    sc = load_scenario(_what_if(tmp_path, body))
    q = next(q for q in sc.quota_policy.quotas if (q.type, q.year) == ("mining_rock", 2027))
    assert [(b.issued.isoformat(), b.share) for b in q.batches] == [("2027-01-01", 1.0)]
    res = CliRunner().invoke(main, ["check", str(tmp_path / "w.toml")])
    assert res.exit_code == 0, res.output


# --- sweeps on a cluster (a sixth round: a modeller taking a sweep to Dask) ---------------------
def _small_sweep(tmp_path):
    from support import BASELINE
    f = tmp_path / "s.toml"
    f.write_text(f'name = "s"\nbase = "{BASELINE.as_posix()}"\ndesign = "lhs"\nsamples = 2\nreplicates = 1\n'
                 '[overrides]\nend = 2024-02-29\n[parameters]\n"behaviour.w_trend" = { min = 0, max = 0.5 }\n'
                 '[outputs]\nkpis = ["price_peak_prnd_oxide"]\n', encoding="utf-8")
    return f


def test_a_sweep_folder_in_use_is_refused(tmp_path):
    """A --resume while the sweep still ran on the folder was accepted: both ran the same runs
    and the series came back with 720 duplicate rows."""
    from rechain.experiments.store import folder_lock
    from rechain.experiments.sweep import execute
    from rechain.scenario import ScenarioError
    f, out = _small_sweep(tmp_path), tmp_path / "o"
    execute(f, out=out, workers=1)
    with folder_lock(out):          # as a sweep still running on it holds it
        with pytest.raises(ScenarioError, match="is in use: another sweep"):
            execute(f, out=out, workers=1, resume=True)
    assert execute(f, out=out, workers=1, resume=True).ran == 0     # free again once it is let go


def test_an_empty_scheduler_address_is_refused(tmp_path):
    """--scheduler "$SCHED" with the variable unset quietly ran on local processes."""
    res = CliRunner().invoke(main, ["sweep", str(_small_sweep(tmp_path)), "--scheduler", "", "--out",
                                    str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 2 and "is empty" in res.output, res.output
    assert not (tmp_path / "o").exists()


class _Client:
    """What check_workers asks of a Dask client."""
    def __init__(self, seen=None, fails=None, workers=True):
        self.seen, self.fails, self.workers = seen, fails, workers

    def wait_for_workers(self, n, timeout):
        if not self.workers:
            raise TimeoutError("no workers")

    def run(self, fn):
        if self.fails:
            raise self.fails
        return self.seen


def test_workers_of_other_code_or_none_are_named():
    """Workers with another rechain gave other numbers without a word, and a later --resume
    mixed both codes in one folder; workers without rechain, or none yet, were a traceback."""
    from rechain.experiments.executor import check_workers
    from rechain.outputs import code_fingerprint
    from rechain.scenario import OptionError
    ours = code_fingerprint()
    check_workers(_Client({"tcp://a:1": ours, "tcp://b:1": ours}), "tcp://s:8786")
    with pytest.raises(OptionError, match=r"other rechain code \(tcp://b:1\)"):
        check_workers(_Client({"tcp://a:1": ours, "tcp://b:1": "0" * 64}), "tcp://s:8786")
    with pytest.raises(OptionError, match="cannot run rechain"):
        check_workers(_Client(fails=ModuleNotFoundError("No module named 'rechain'")), "tcp://s:8786")
    with pytest.raises(OptionError, match="has no workers"):
        check_workers(_Client(workers=False), "tcp://s:8786")


def test_a_lost_cluster_is_one_line_with_the_way_back(tmp_path, monkeypatch):
    """Killing the scheduler mid-sweep gave three chained tracebacks and no resume hint; the
    hints left out --scheduler, so copied as given they resumed on local processes."""
    from rechain.experiments import sweep as sweep_module
    from rechain.experiments.executor import ClusterLost

    def lost(*a, **kw):
        raise ClusterLost("lost the Dask cluster at tcp://s:8786 (CommClosedError)")
    monkeypatch.setattr(sweep_module, "execute", lost)
    f = _small_sweep(tmp_path)
    res = CliRunner().invoke(main, ["sweep", str(f), "--scheduler", "tcp://s:8786", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1, res.output
    assert "error: lost the Dask cluster at tcp://s:8786" in res.output
    assert f"--scheduler tcp://s:8786 --resume" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("raised, said", [
    (MemoryError("Unable to allocate 3.07 EiB"), "is not a Dask scheduler (MemoryError"),
    (TypeError("TLS expects a ssl_context argument"), "a tls:// address needs Dask's TLS settings"),
])
def test_an_address_that_is_no_scheduler_is_one_line(raised, said):
    """An HTTP endpoint's answer read as a frame length (a 3.07 EiB MemoryError) and a tls://
    address were tracebacks."""
    from rechain.experiments.executor import _connect
    from rechain.scenario import OptionError

    class Client:
        def __init__(self, address, timeout):
            raise raised
    with pytest.raises(OptionError, match=re.escape(said)):
        _connect(Client, "tcp://h:8786")


def test_a_server_that_never_answers_the_handshake_is_one_line_in_bounded_time(monkeypatch):
    """The scheduler's dashboard port (an HTTP server: it accepts, then waits for a request)
    hung the command well past the 5 s the message promised."""
    import time
    from rechain.experiments import executor
    from rechain.scenario import OptionError
    monkeypatch.setattr(executor, "SCHEDULER_CONNECT_S", 0.2)

    class Client:
        def __init__(self, address, timeout):
            time.sleep(30)
    with pytest.raises(OptionError, match="no Dask handshake within 0.6 s: a web server"):
        executor._connect(Client, "tcp://h:8787")      # the client above would take 30 s


def test_workers_given_with_a_remote_scheduler_are_said_unused(tmp_path):
    res = CliRunner().invoke(main, ["sweep", str(_small_sweep(tmp_path)), "--workers", "2", "--scheduler",
                                    "tcp://127.0.0.1:1", "--out", str(tmp_path / "o"), "--quiet"])
    assert "note: --workers 2 is not used with --scheduler tcp://127.0.0.1:1" in res.output, res.output
    assert res.exit_code == 2 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("address, said", [
    ("tcp://127.0.0.1:99999", "port 99999 is not a valid port"),
    ("tcp://127.0.0.1:0", "port 0 is not a valid port"),
    ("127.0.0.1:88x6", "port '88x6' is not a number"),
])
def test_a_port_out_of_range_is_named(tmp_path, address, said):
    """A port out of range was reported as a scheduler that did not answer within 5 s."""
    res = CliRunner().invoke(main, ["sweep", str(_small_sweep(tmp_path)), "--scheduler", address, "--out",
                                    str(tmp_path / "o"), "--quiet"])
    assert res.exit_code == 2 and said in res.output and "PORT 1-65535" in res.output, res.output
    assert not (tmp_path / "o").exists()


def test_scheduler_addresses_with_valid_ports_or_none_pass():
    from rechain.experiments.executor import address_problem
    for address in ("tcp://h:8786", "h:8786", "tcp://h", "tcp://[::1]:8786", "tcp://[::1]", "tcp://h:65535/"):
        assert address_problem(address) is None, address
