"""Command-line interface: ``rechain run | check | schema``.

Bad input (a scenario that does not load or validate) prints one line per mistake naming
the file, the key (and line), what was given and what is allowed, exits with status 2 and
writes nothing.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import sys
import warnings
from pathlib import Path

import click

from .accounting import RunBrokeDown
from .experiments.executor import (Terminated, forget_terminated, interrupt_kept, note_terminated, stop_inside,
                                   was_interrupted, was_terminated)
from .options import NonEmptyPath, WholeNumber
from .scenario import ScenarioError, json_schema, load_scenario
from .stops import INTERRUPTED, TERMINATED

__all__ = ["main"]


def _usage_mistake(e: click.UsageError, where: str) -> None:
    """A usage mistake (an unknown command or option, a missing value) in one line naming
    the help that lists what is allowed; exit status 2."""
    said = e.format_message().rstrip(".")
    click.echo(f"error: {said}{' Allowed' if said.endswith('?') else '; allowed'}: what `{where} --help` lists",
               err=True)
    sys.exit(2)


class _Group(click.Group):
    """A click group that turns ScenarioError into one line per mistake and exit status 2."""

    def parse_args(self, ctx, args):
        # the group's own options (`rechain --bogus`): one line, as a command's mistakes
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoArgsIsHelpError:
            raise                   # `rechain` alone prints its help
        except click.UsageError as e:
            _usage_mistake(e, ctx.command_path)

    def invoke(self, ctx):
        # the command line as given (click consumes it while invoking), to name the scenario
        given = [*getattr(ctx, "_protected_args", []), *ctx.args]
        # warnings are held until the command ends: a run that breaks down warns about the
        # overflow on its way, and the one line below says it all
        held: list = []
        previous = _say_when_terminated()
        try:
            with warnings.catch_warnings(record=True) as held:
                warnings.simplefilter("always", RuntimeWarning)
                out = super().invoke(ctx)
                if was_terminated():        # a SIGTERM whose exit Python dropped (see executor)
                    raise Terminated()
                if was_interrupted():       # a Ctrl-C Python dropped likewise
                    raise KeyboardInterrupt
                sys.stdout.flush()          # a reader gone (| head) is found here, not at exit
                return out
        except click.BadParameter as e:
            # a value click itself refuses (a file where a folder belongs, a folder given as the
            # scenario, a seed that is no whole number): one line, as every other mistake
            allowed = "" if isinstance(e, click.MissingParameter) else _path_allowed(e)
            message = e.format_message()
            click.echo(f"error: {message.rstrip('.') + allowed if allowed else message}", err=True)
            sys.exit(2)
        except click.UsageError as e:
            # an unknown command or option, a missing argument, options that exclude each other:
            # one line too, naming where the allowed ones are listed
            # a mistake before the command's context exists (an option missing its value) is
            # the command's, named first on the command line
            command = given[0] if given and given[0] in self.commands else None
            _usage_mistake(e, e.ctx.command_path if e.ctx is not None else
                           f"{ctx.command_path}{' ' + command if command else ''}")
        except BrokenPipeError:
            # the reader closed the pipe (rechain check ... | head): stop quietly, as a program
            # killed by SIGPIPE does (status 141), not with a traceback or validate's 1 ("missed")
            _let_go_of_stdout()
            sys.exit(141)
        except OSError as e:
            if e.errno == errno.ENAMETOOLONG:
                # a path the file system cannot name (a folder name of hundreds of bytes)
                name = os.fsdecode(e.filename) if e.filename is not None else "a path"
                click.echo(f"error: {name}: the name is too long for the file system ({e.strerror}); "
                           f"choose a shorter path", err=True)
                sys.exit(2)
            if e.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO):
                raise
            # standard output on a full disk (rechain schema > /dev/full); the files a command
            # writes say so themselves (outputs.output_dir)
            _let_go_of_stdout()
            click.echo(f"error: standard output cannot be written ({e.strerror}), so what the command printed is "
                       f"lost; the files a command writes are written whole or not at all, so an output folder it "
                       f"made is complete", err=True)
            sys.exit(2)
        except ScenarioError as e:
            for one in e.errors:
                click.echo(f"error: {_cut_long_values(str(one))}", err=True)
            if e.count > 1:
                click.echo(f"{e.count:,} errors", err=True)
            sys.exit(2)
        except RunBrokeDown as e:
            # a scenario that passed its checks but took the model where it cannot compute:
            # one line, nothing written (outputs are written only after a run completes)
            held.clear()
            files = [a for a in given if a.lower().endswith(".toml")]
            where = f"{e.where}: " if getattr(e, "where", None) else f"{files[0]}: " if files else ""
            click.echo(f"error: {where}{e}; nothing was written. Check the scenario's largest and "
                       f"smallest figures; if they are plausible, please report this as a defect", err=True)
            sys.exit(3)
        except Terminated:
            # SIGTERM while an output was written: the hidden folder is already removed
            _end_terminated()
        except SystemError as e:
            # SIGTERM's exit or Ctrl-C raised inside a compiled (numba) kernel comes back wrapped
            # as SystemError: end as that stop does, not with a traceback
            stop = stop_inside(e)
            if stop is None:
                raise
            if isinstance(stop, Terminated):    # SIGTERM while an output was written
                _end_terminated()
            if isinstance(stop, KeyboardInterrupt):
                _end_interrupted()
            raise stop from None
        except KeyboardInterrupt:
            # Ctrl-C: one line and status 130 (128 + SIGINT, as a stopped sweep exits), not
            # click's "Aborted!" and 1, which validate gives for a missed fact
            _end_interrupted()
        finally:
            forget_terminated()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            for w in held:      # under the caller's filters again (shown, or an error in the tests)
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _end_interrupted() -> None:
    """Ctrl-C during a command: one line saying so and status 130. Outputs are written whole
    or not at all (outputs.output_dir), so none is left half-written."""
    click.echo(f"\n{INTERRUPTED}", err=True)
    sys.exit(130)


def _end_terminated(signum=None, frame=None) -> None:
    """SIGTERM (``kill``, a batch system's time limit) during a command: one line saying so,
    and status 143 (128 + SIGTERM, as a shell reports a process SIGTERM ended, and as a
    stopped sweep exits). Outputs are written whole or not at all (outputs.output_dir), so
    none is left half-written. Sweeps, calibrations and the dashboard put their own handler
    in place while they work."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if note_terminated():
        click.echo(f"\n{TERMINATED}", err=True)
    # an exit, not SIGTERM's default end: the locks the progress bar made are given back
    # (no 'leaked semaphore' warning)
    sys.exit(143)


def _say_when_terminated():
    """Put :func:`_end_terminated` in place for SIGTERM; return the handler of before, or None
    where it stays as it is (not the main thread, or SIGTERM ignored by the caller)."""
    try:
        if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
            return None
        return signal.signal(signal.SIGTERM, _end_terminated)
    except ValueError:      # not the main thread
        return None


def _path_allowed(e: click.BadParameter) -> str:
    """What a path option or argument click refused allows, as every other message says."""
    kind = getattr(e.param, "type", None)
    if not isinstance(kind, click.Path) or "allowed" in e.format_message().lower():
        return ""
    if not kind.dir_okay:
        return "; allowed: a file's path, not a folder's"
    if not kind.file_okay:
        return "; allowed: a folder's path, not a file's"
    return ""


#: a quoted value longer than this is cut in an error line (a 100,000-character name was echoed whole)
LONGEST_VALUE_SHOWN = 200


def _cut_long_values(line: str) -> str:
    """``line`` with every quoted value longer than :data:`LONGEST_VALUE_SHOWN` characters cut
    to its start and its length (a value holding an apostrophe is shown in double quotes, as
    Python's repr shows it, and the other way round)."""
    def cut(m: re.Match) -> str:
        quote = m.group(1) or m.group(3)
        body = m.group(2) if m.group(1) else m.group(4)
        return f"{quote}{body[:60]}{quote}... ({len(body):,} characters)"
    n = LONGEST_VALUE_SHOWN + 1
    # a value opens after a space or a bracket, not after a word: the closing quote of 'zzz'
    # and the opening one of '+' had been read as one value spanning a list of allowed names
    pattern = "(?<![\\w'\"])(')([^'\\n]{%d,})'|(?<![\\w'\"])(\")([^\"\\n]{%d,})\"" % (n, n)
    return re.sub(pattern, cut, line)


def _let_go_of_stdout() -> None:
    """Point standard output at /dev/null, so Python's own flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


@click.group(cls=_Group)
@click.version_option(package_name="rechain")
def main() -> None:
    """rechain: agent-based simulation of the rare-earth -> NdFeB magnet chain."""
    _standard_streams()


def _standard_streams() -> None:
    """Closed standard streams (``rechain run ... >&-``) write to nowhere instead of failing at
    the first line, and a current folder deleted under the shell ends in one line: every
    relative path, and Python's own, is read against it."""
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))   # noqa: SIM115 (for the process)
    try:
        os.getcwd()
    except FileNotFoundError:
        click.echo("error: the current folder no longer exists (it was deleted or moved while the shell stood in "
                   "it); change to an existing folder and run the command again", err=True)
        sys.exit(2)


@main.command()
@click.argument("scenario", type=NonEmptyPath(dir_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, type=WholeNumber(min=0), help="random seed (>= 0)")
@click.option("--out", "out_dir", type=NonEmptyPath(file_okay=False, path_type=Path), default=None,
              help="output folder (default outputs/<scenario>-seed<N>)")
@click.option("--no-figures", is_flag=True, help="skip the PNG figures")
@click.option("--html", is_flag=True, help="also write report.html (as rechain report does)")
@click.option("--quiet", is_flag=True, help="print nothing but errors")
def run(scenario: Path, seed: int, out_dir: Path | None, no_figures: bool, html: bool, quiet: bool) -> None:
    """Run SCENARIO and write monthly.csv, flows.csv, summary.csv, manifest.json and figures."""
    from tqdm import tqdm

    from .results import run as run_scenario

    from .outputs import check_output_dir, default_folder

    sc = load_scenario(scenario)
    out_dir = check_output_dir(out_dir or Path("outputs") / default_folder(sc.name, f"-seed{seed}"), "run")
    earlier = _earlier_run(out_dir)
    from .calendar import Calendar
    n_weeks = Calendar.build(sc.start, sc.end, holidays={}).n_weeks      # the weeks alone
    # disable=None: no bar when stderr is not a terminal (a log file would keep every redraw)
    bar = tqdm(total=n_weeks, unit="wk", desc=sc.name, delay=2.0, disable=True if quiet else None, leave=False)
    last = [0]

    def progress(t: int) -> None:
        if was_interrupted():       # a Ctrl-C Python dropped: stop at the week's end
            raise KeyboardInterrupt
        bar.update(t - last[0])
        last[0] = t

    # Ctrl-C is never lost: the run stops, and nothing is written (outputs.output_dir)
    with interrupt_kept():
        try:
            res = run_scenario(sc, seed=seed, progress=progress)
        finally:
            bar.close()
        extra = None
        if html:
            from .html_report import write_report_into
            # the report is built from the staged files and swapped in with them, or not at all
            extra = lambda tmp: write_report_into(tmp, out_dir)  # noqa: E731
        res.save(out_dir, figures=not no_figures, extra=extra)
    if not quiet:
        import pandas as pd
        with pd.option_context("display.width", 160, "display.max_rows", 80,
                               "display.float_format", "{:,.0f}".format):
            click.echo(res.summary().to_string())
        from .report import idle_reserve, short_supply_years
        idle = idle_reserve(res.monthly, res.flows, sc.stockpile)
        if idle is not None:
            click.echo(f"note: {idle}")
        for year, share in short_supply_years(res.monthly).items():
            click.echo(f"note: in {year} the oxides' supply routes together could give {share:.2f} of what their "
                       f"users needed (route_supply_cover in monthly.csv; the baseline's years: 1.02-1.07), and the "
                       f"long-run price rations the rest; if the period had supply the file does not give (work "
                       f"outside the quota, imports, stocks drawn), give it (docs/eras.md)")
        click.echo(f"\nwrote {out_dir}/ ({written_list(out_dir)})")
    if earlier is not None and not quiet:
        # the default folder is named after the scenario's name, which two files can share
        now = [str(Path(f).resolve()) for f in getattr(sc, "_files", [])]
        if earlier[0] != now:
            click.echo(f"note: this replaced an earlier run of another scenario file in {out_dir}/ "
                       f"({Path(earlier[0][-1]).name if earlier[0] else 'unknown'}, seed {earlier[1]}); give --out "
                       f"to keep both")
        elif earlier[1] != seed:
            click.echo(f"note: this replaced an earlier run of seed {earlier[1]} in {out_dir}/")


def written_list(folder: Path) -> str:
    """The files a run wrote into ``folder``, tables first, the figures counted: what the line
    after a run names is what is there (it had left out mass_balance.json and the weekly table)."""
    from .outputs import files_written
    files = files_written(folder)
    figures = [f for f in files if f.endswith(".png")]
    named = [f for f in files if not f.endswith(".png")]
    first = ["monthly.csv", "flows.csv", "summary.csv"]
    named = [f for f in first if f in named] + sorted(f for f in named if f not in first)
    if figures:
        named.append(f"{len(figures)} figures: {', '.join(sorted(figures))}")
    return ", ".join(named)


def _earlier_run(folder: Path) -> tuple[list[str], object] | None:
    """The scenario files and seed of an earlier run in ``folder`` (its manifest), or None."""
    import json
    try:
        manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
        return [str(Path(f).resolve()) for f in manifest.get("scenario_files", [])], manifest.get("seed")
    except (OSError, ValueError, TypeError, AttributeError):
        return None


def _check_facts(scenario: Path, sc) -> tuple[str, list[str]]:
    """The facts ``rechain validate`` would hold the scenario to, read and checked as it reads
    them — each fact against the rows the run will have: a line saying how many fall within
    the run, or one error line and exit 2. Without its own ``facts_file`` a scenario is held to
    the package's facts; a line says so only when none falls within its run. With the line,
    a warning naming the facts of the scenario's own table that fall outside its run ([] if none)."""
    import pandas as pd
    from .calendar import Calendar, whole_months
    from .experiments.validate import (FactError, check_facts_for, default_vocabulary, facts_in_run, load_facts,
                                       load_scenario_facts, package_facts_path, tolerance_doubts, why_left_out)
    if not sc.facts_file:
        months = Calendar.build(sc.start, sc.end, holidays={}).months
        try:
            facts = load_facts(None, default_vocabulary(sc))
        except FactError as e:       # a scenario of other sectors or regions than the package's facts name
            return (f"facts: the package's facts do not fit this scenario ({e}); rechain validate needs a facts "
                    f"table of its own (facts_file, docs/eras.md)"), []
        try:
            facts_in_run(facts, pd.DataFrame({"month": whole_months(sc.start, sc.end)}))
        except FactError:
            return (f"facts: none of the package's facts ({package_facts_path()}) falls within the run "
                    f"({months[0]} .. {months[-1]}); rechain validate needs a facts table of the period "
                    f"(facts_file, docs/eras.md)"), []
        return "", []
    try:
        path, facts = load_scenario_facts(sc, default_vocabulary(sc))
        inside, outside = check_facts_for(sc, facts, str(path))
    except FactError as e:
        e.tell()
        sys.exit(2)
    note = f"facts: {path} ({len(inside)} of {len(facts)} within the run's period, for rechain validate)"
    doubts = [f"facts table: {line}" for line in tolerance_doubts(inside)]
    if not outside:
        return note, doubts
    # a year mistyped drops a fact that validate would then not check: name each, with why
    months = whole_months(sc.start, sc.end)
    return note, ["facts left out, not within the run (rechain validate will not check them): "
                  + "; ".join(why_left_out(f, months[0], months[-1]) for f in outside)] + doubts


def _own_keys(written: dict) -> dict | None:
    """The keys a what-if sets itself, of its keys as ``written`` (None for a whole scenario)."""
    return written if "extends" in written else None


#: what a whole scenario (a base others extend) sets for the files that extend it: its rule for
#: years past its last (a longer run's) and the later batches of the year before its start
#: (the record, beside the first batch's date that is read); not told as acting on nothing
FOR_EXTENDERS = ("after_last_year.", "quota_policy.quotas[")


def _inert_keys_of(sc, written: dict) -> list[str]:
    """Keys the file sets that act on nothing (:func:`~rechain.config.levers.inert_keys`), of
    its keys as ``written``: a what-if's own keys; for a whole scenario every key it writes,
    but for those it sets for the files that extend it (``FOR_EXTENDERS``)."""
    from .config.levers import inert_keys
    lines = inert_keys(sc, written)
    return lines if "extends" in written else [line for line in lines if not line.startswith(FOR_EXTENDERS)]


def _own_quotas(own: dict | None) -> set[tuple[str, int]] | None:
    """The (type, year) of the quotas a what-if sets itself (``own``: its keys, None for a
    whole scenario)."""
    if own is None:
        return None
    quotas = (own.get("quota_policy") or {}).get("quotas") or []
    return {(q.get("type"), q.get("year")) for q in quotas if isinstance(q, dict)}


def _count(n: int, what: str) -> str:
    """``n`` things, in the singular for one."""
    return f"{n} {what}{'' if n == 1 else 's'}"


@main.command()
@click.argument("scenario", type=NonEmptyPath(dir_okay=False, path_type=Path))
def check(scenario: Path) -> None:
    """Validate SCENARIO without running it."""
    from .config.levers import idle_levers, late_first_batches
    from .config.plausibility import (batches_emptied, far_from_inherited, markup_absorbs_cost, named_items_replaced,
                                      start_ratios_moved)
    from .config.schema import years_without_quota

    sc = load_scenario(scenario)
    facts_note, left_out = _check_facts(scenario, sc)
    from .scenario import read_toml_file
    written = read_toml_file(scenario)
    own = _own_keys(written)
    warned = years_without_quota(sc) + idle_levers(sc, _own_quotas(own)) + _inert_keys_of(sc, written) \
        + far_from_inherited(scenario) + markup_absorbs_cost(scenario) + start_ratios_moved(scenario) \
        + named_items_replaced(scenario) \
        + batches_emptied(scenario) + _anchor_far(sc) + left_out
    click.echo(f"{scenario}: ok ({sc.name}, {sc.start} to {sc.end}, "
               f"{_count(len(sc.export_controls), 'export control')}, {_count(len(sc.news), 'news event')}, "
               f"{_count(len(sc.disruptions), 'disruption')})")
    # the warnings first: the lists below run long for an era, and a warning after them is missed
    sys.stdout.flush()
    for line in warned:
        click.echo(f"warning: {scenario}: {line}", err=True)
    sys.stderr.flush()
    if facts_note:
        click.echo(facts_note)
    carried = sc._carried + [sc._planned_past_end] * bool(sc._planned_past_end)
    if carried:
        rule = sc.after_last_year
        click.echo(f"carried past the last year given ({rule.rule}"
                   f"{f', {rule.growth_pct_per_yr:g} % a year' if rule.rule == 'grow' else ''}):")
        for line in carried:
            click.echo(f"  {line}")
    if sc._dropped:
        click.echo("left out: dated items inherited from an extended file that lie outside the period:")
        for line in sc._dropped:
            click.echo(f"  {line}")
    late = late_first_batches(sc)
    if late:
        click.echo("late quotas: a year's first batch comes later than the year before's (firms read it as overdue, "
                   "docs/ODD.md section 7.9):")
        for line in late:
            click.echo(f"  {line}")
    if warned:
        click.echo(f"{_count(len(warned), 'warning')} above (read each: docs/eras.md, \"Check, run, validate\")",
                   err=True)


#: the oxides' start prices this far from the cost of the dearest supply route needed (either
#: way) make the run's first year a drift toward costs (docs/eras.md)
ANCHOR_FAR = 1.5


#: a made product's start price below this share of what making it costs at the start prices
#: (its start markup) makes its first weeks a jump to cost (docs/eras.md)
MARKUP_LOW = 0.9


#: an ore's or scrap's start price this many times the most its buyers can pay for it at the
#: start prices makes its first weeks a fall to that, its buyers idle meanwhile (docs/eras.md;
#: the shipped files' ores and scrap stand at 0.41-1.03 of it)
CEILING_HIGH = 1.1


#: end users' planned use of an oxide at the start over what the supply routes deliver then,
#: beyond which (either way) the run's first year rations a shortage or works off a glut
#: (docs/eras.md; the shipped what-ifs of 2024-2026 stand at 0.90-1.09, the 2021-2023 era's Dy
#: and Tb at 0.62-0.63)
BALANCE_SHORT = 1.1
BALANCE_GLUT = 0.8
#: the routes' ore beyond what the plants may separate, as a multiple of what they may, from
#: which a shortage's warning names separation beside mining as what holds supply back
SEPARATION_BINDS = 1.05


def _tonnes(t: float) -> str:
    """Tonnes as read: 1,234.5 or 0.0042, never 0.0 for a small positive figure."""
    return f"{t:,.1f}" if t >= 0.1 else f"{t:.2g}"


def _anchor_far(sc) -> list[str]:
    """A line when the oxides' start prices stand far from their cost anchor, one per made
    product whose start price stands well below what making it costs at the start prices, one
    per ore or scrap whose start price stands well above what its buyers can pay for it, and
    the lines of :func:`_balance_far`."""
    from .model import start_readings
    try:
        pull, markups, ceilings, balance = start_readings(sc)
    except Exception:       # advisory only: a scenario the model cannot build fails in run with its own message
        return []
    out = []
    if not 1.0 / ANCHOR_FAR < pull < ANCHOR_FAR:
        size = f"{pull:.2f} times" if pull >= 1 else f"1/{1 / pull:.2f} of"
        out.append(f"market.initial_price: the oxides' cost anchor (the full cost of the dearest supply route "
                   f"needed, docs/ODD.md section 7.6) is {size} their start prices, so the market moves toward it "
                   f"over about behaviour.cost_anchor_weeks ({sc.behaviour.cost_anchor_weeks:g} weeks) whatever "
                   f"the period's events; read the run's first year's price levels with that in mind (docs/eras.md)")
    for product, markup in markups.items():
        if markup < MARKUP_LOW:
            out.append(f"market.initial_price.{product}: {markup:.2f} of what making it costs at the start prices "
                       f"(raw materials and processing, docs/ODD.md section 7.6): sellers do not sell below cost, so "
                       f"its price rises to about that cost in the first weeks, while its long-run price keeps the "
                       f"start's markup below cost; a start price at or above the cost reads better (docs/eras.md)")
    for product, over in ceilings.items():
        if over > CEILING_HIGH:
            size = "more than its buyers can pay for it at any price" if over == float("inf") \
                else f"{over:.2f} times the most its buyers can pay for it"
            out.append(f"market.initial_price.{product}: {size} at the start prices (the value of the Pr-Nd, Dy "
                       f"and Tb oxide recovered from it, less losses and processing: docs/ODD.md section 7.6; what a "
                       f"tonne holds is in src/rechain/data/materials.toml): its buyers lose money on it, so they take "
                       f"little of it and what they make of it runs short until its price falls to that in the first "
                       f"weeks; a start price at or below it reads better (the baseline's ores and scrap stand at "
                       f"0.43-0.99 of it) (docs/eras.md)")
    return out + _balance_far(balance)


def _balance_far(balance: dict) -> list[str]:
    """A line per oxide whose end users plan to take far more or far less than the supply
    routes deliver at the start (:func:`rechain.model.start_balance`); a shortage's line says
    whether separation, mining and separation, or a missing supply holds it back."""
    out = []
    for product, (need, supply, brought) in balance.items():
        if need <= 0 and supply <= 0:           # an oxide nobody makes or uses
            continue
        ratio = need / supply if supply > 0 else float("inf")
        if BALANCE_GLUT <= ratio <= BALANCE_SHORT:
            continue
        if supply <= 0:
            size = f"take {_tonnes(need)} t a week, while the supply routes deliver none of it then"
        elif need <= 0:
            size = f"take none of it, while the supply routes deliver {_tonnes(supply)} t a week then"
        else:
            times = f"{ratio:.2f} times" if ratio >= 0.01 else f"{ratio:.2g} of"
            size = (f"take {_tonnes(need)} t a week, {times} the {_tonnes(supply)} t a week the supply routes "
                    f"deliver then")
        said = (f"{product}: at the start (its quotas, capacities and demand, before its dated events) its end users "
                f"plan to {size} (quotas at their pace, imports, work outside the quota, scrap; docs/ODD.md section "
                f"7.6): ")
        if ratio < BALANCE_GLUT:
            out.append(said + "its price falls until its holders keep it back or supply is cut: below its long-run "
                       "price, which the three oxides share, so it may still rise where a shortage of another lifts "
                       "that (price_long_run in monthly.csv). If the period's record shows no such glut, a use is "
                       "missing from the file or a supply is too high (docs/eras.md)")
            continue
        said += "its price climbs until use falls or supply grows to meet it. "
        if need <= brought * BALANCE_SHORT:
            # more ore mined or imported would not help: the plants may not separate what comes
            out.append(said + f"What holds supply back is separation: the routes bring ore for {_tonnes(brought)} t "
                       f"of it a week, enough, but China's plants may separate only part of it (the separation quota "
                       f"at its pace, their capacity, and firms.separation_plants.outside_quota_share less "
                       f"enforcement). If the record shows no such shortage, the period's separation (within the "
                       f"quota or outside it) is missing from the file, more than its mining (docs/eras.md)")
        elif brought > supply * SEPARATION_BINDS:
            out.append(said + f"Both mining and separation hold it back: the routes bring ore for only "
                       f"{_tonnes(brought)} t of it a week, and China's plants may separate only part of that. If the "
                       f"period's record shows no such shortage, a supply is missing from the file (imports, work "
                       f"outside the quota and its enforcement, stocks drawn down), and separation for it, or a use "
                       f"is too high (docs/eras.md)")
        else:
            out.append(said + "If the period's record shows no such shortage, a supply is missing from the file "
                       "(imports, work outside the quota and its enforcement, stocks drawn down) or a use is too high "
                       "(docs/eras.md)")
    return out


@main.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format."""
    click.echo(json.dumps(json_schema(), indent=2))


# --- commands defined in their own modules (one line each, keep sorted) ----------------
# (each module defines a click command; add it here with main.add_command(...))
main.add_command(__import__("rechain.experiments.analyze", fromlist=["analyze_command"]).analyze_command)
main.add_command(__import__("rechain.experiments.calibrate", fromlist=["calibrate_command"]).calibrate_command)
main.add_command(__import__("rechain.experiments.compare", fromlist=["compare_command"]).compare_command)
main.add_command(__import__("rechain.dashboard", fromlist=["dashboard_command"]).dashboard_command)
main.add_command(__import__("rechain.html_report", fromlist=["report_command"]).report_command)
main.add_command(__import__("rechain.experiments.sweep", fromlist=["sweep_command"]).sweep_command)
main.add_command(__import__("rechain.experiments.validate", fromlist=["validate_command"]).validate_command)


if __name__ == "__main__":  # pragma: no cover
    main()
