"""Blanks the magnet makers plan but cannot make for want of a raw material
(``output_short_of_inputs`` in monthly.csv): each grade is held back by the scarcest input its
recipe needs, and what is not made is charged to that input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from support import BASELINE
from test_kinds import standard_grade_orders, tiny  # noqa: F401  (tiny: the fixture)

from rechain.cli import main
from rechain.html_report import input_short_rows
from rechain.kinds import MagnetMakers
from rechain.kinds.magnets import scarcest_input
from rechain.report import summary_table


def test_each_grade_is_held_back_by_its_scarcest_input_and_charged_to_it():
    plan = np.array([[100.0, 50.0], [80.0, 40.0]])          # [firm, grade: standard, 52UH], t
    heavy = np.array([[False, True], [False, True]])        # only 52UH takes Dy and Tb
    made, short = scarcest_input(plan, heavy, heavy, prnd_allows=np.array([1.0, 0.5]),
                                 dy_allows=np.array([0.6, 1.0]), tb_allows=np.array([0.8, 0.25]))
    # first maker: its 52UH by Dy (0.6 < Tb's 0.8); second: its standard by Pr-Nd, its 52UH by Tb
    assert made == pytest.approx(np.array([[1.0, 0.6], [0.5, 0.25]]))
    assert short == pytest.approx([80.0 * 0.5, 50.0 * 0.4, 40.0 * 0.75])
    # a grade without Dy or Tb is never held back by them, however little there is
    none = np.zeros_like(heavy)
    made, short = scarcest_input(plan, none, none, np.ones(2), np.zeros(2), np.zeros(2))
    assert made == pytest.approx(np.ones((2, 2)))
    assert short == pytest.approx([0.0, 0.0, 0.0])


def test_a_tie_is_charged_to_the_first_input_and_nothing_is_counted_twice():
    plan = np.array([[10.0, 20.0]])
    both = np.array([[True, True]])
    made, short = scarcest_input(plan, both, both, np.array([0.5]), np.array([0.5]), np.array([0.5]))
    assert made == pytest.approx(np.array([[0.5, 0.5]]))
    assert short == pytest.approx([15.0, 0.0, 0.0])          # all of the 15 t lost, once, to Pr-Nd


def test_makers_record_the_blanks_their_pr_nd_did_not_allow(tiny):
    world, book = tiny
    kind = MagnetMakers(world)
    i, f = kind.rows, book.firms
    std, _ = standard_grade_orders(world, book, kind)
    s = kind.cfg.scrap_share
    need = 100.0 / (1 - s) * book.content[std][kind.e_prnd] / (1 - kind.cfg.melt_loss_share)
    f.stock_t[i, kind.oxide] = [need, need / 2]      # the second has half the Pr-Nd it needs
    f.stock_t[i, kind.metal] = 0.0
    book.recorder.start_week(3, True)
    kind.produce(book)
    assert book.recorder.input_short[3] == pytest.approx([50.0 / (1 - s), 0.0, 0.0])
    # and the recorder is untouched in a week it does not record
    book.recorder.start_week(4, False)
    f.stock_t[i, kind.oxide] = 0.0
    kind.produce(book)
    assert not book.recorder.input_short[4].any()


def test_the_run_reports_what_the_makers_lacked_by_input_and_the_summary_lists_it(baseline_run):
    m = baseline_run.monthly
    rows = m[m["variable"] == "output_short_of_inputs"]
    assert set(rows["stage"]) == {"magnet_makers"} and set(rows["region"]) == {"china"}
    assert set(rows["product"]) == {"prnd_oxide", "dy_oxide", "tb_oxide"}
    assert (rows["unit"] == "t").all() and (rows["value"] >= 0).all()
    assert rows.groupby("product")["month"].nunique().eq(m["month"].nunique()).all()
    table = summary_table(m)
    lacking = table.loc["blanks not made"] if "blanks not made" in table.index.get_level_values(0) else None
    total = rows.groupby(rows["month"].str[:4])["value"].sum()
    if total.gt(0).any():
        assert lacking is not None
        got = lacking.sum(axis=0)
        assert got.to_numpy() == pytest.approx(total.reindex([c[:4] for c in got.index]).to_numpy())


def test_the_html_report_tables_the_blanks_not_made_per_year_and_input():
    months = ["2024-11", "2024-12", "2025-01"]
    rows = [("magnet_makers", p, "china", "output_short_of_inputs", m, v, "t")
            for p, vals in (("prnd_oxide", (0.0, 0.0, 0.0)), ("dy_oxide", (10.0, 5.0, 0.0)),
                            ("tb_oxide", (0.0, 250.0, 1000.0)))
            for m, v in zip(months, vals)]
    monthly = pd.DataFrame(rows, columns=["stage", "product", "region", "variable", "month", "value", "unit"])
    years, table = input_short_rows(monthly)
    # years covered in part are labelled by their months, as the summary labels them (an outside
    # analyst read "2024 | 2025" under "t per year" for a run of July 2024 - October 2025)
    assert years == ["2024 (Nov-Dec)", "2025 (Jan)"]
    # an input that never held output back is left out; a year without any shows 0
    assert table == [{"input": "dy_oxide", "values": ["15.0", "0"]},
                     {"input": "tb_oxide", "values": ["250", "1,000"]}]
    assert input_short_rows(monthly[monthly["product"] == "prnd_oxide"]) == (["2024 (Nov-Dec)", "2025 (Jan)"], [])


def test_a_run_report_shows_what_held_the_makers_back(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(BASELINE), "--out", str(out), "--html", "--quiet", "--no-figures"])
    assert res.exit_code == 0, res.output
    html = (out / "report.html").read_text()
    monthly = pd.read_csv(out / "monthly.csv", dtype={"month": str})
    years, table = input_short_rows(monthly)
    assert table, "the baseline's makers are held back by Dy and Tb (docs/ODD.md, section 8)"
    assert "Magnet output held back by raw materials" in html
    for r in table:
        assert f"<tr><td>{r['input']}</td>" + "".join(f'<td class="num">{v}</td>' for v in r["values"]) in html
