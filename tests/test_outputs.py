"""Outputs are atomic and never mixed (issue 11, section 3): a run folder is written whole or not at all,
an occupied or unusable --out is refused before any work, Ctrl-C ends in one line, and ``report``
refuses folders that are incomplete, corrupt or mix two runs."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from execbench.cli import main

FAST = ["--asset", "BTCUSDT", "--test-start", "2026-04-27", "--no-audit"]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A run folder and a comparison folder, each complete."""
    root = tmp_path_factory.mktemp("runs")
    assert main(["run", "--strategy", "twap", *FAST, "--out", str(root / "run")]) == 0
    assert main(["compare", "--strategies", "twap,flex", *FAST, "--out", str(root / "cmp")]) == 0
    return root


def one_line_error(capsys, code: int = 2) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def test_a_run_folder_carries_one_run_id_everywhere(two_runs):
    folder = two_runs / "run"
    manifest = json.loads((folder / "manifest.json").read_text())
    record = json.loads((folder / "run.json").read_text())
    assert record["run_id"] == manifest["run_id"] and len(manifest["run_id"]) == 32
    assert str(np.load(folder / "results_twap.npz")["run_id"]) == manifest["run_id"]
    assert set(manifest["files"]) == {p.name for p in folder.iterdir() if p.name != "manifest.json"}
    assert not list(two_runs.glob(".*partial*")), "no staging folder is left behind"


def test_an_occupied_or_unusable_out_is_refused_before_any_work(two_runs, tmp_path, capsys):
    occupied = two_runs / "run"
    assert main(["run", "--strategy", "flex", *FAST, "--out", str(occupied)]) == 2
    assert "holds other files (an earlier run?)" in one_line_error(capsys) and (occupied / "results_twap.npz").exists()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    assert main(["run", *FAST, "--out", str(a_file)]) == 2
    assert "is a file; expected a folder" in one_line_error(capsys)
    assert main(["compare", *FAST, "--out", str(a_file / "sub")]) == 2
    assert "is a file, not a folder" in one_line_error(capsys)


def test_overwrite_replaces_the_whole_folder(two_runs, tmp_path):
    target = tmp_path / "again"
    shutil.copytree(two_runs / "run", target)
    (target / "stray.csv").write_text("left over")
    assert main(["run", "--strategy", "flex", *FAST, "--out", str(target), "--overwrite"]) == 0
    assert not (target / "stray.csv").exists() and not (target / "results_twap.npz").exists()
    assert json.loads((target / "run.json").read_text())["strategy"] == "flex"


def test_interrupted_writing_leaves_nothing_and_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    import execbench.reporting.run_folder as run_folder

    real = run_folder.write_table
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # a few files in: Ctrl-C
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(run_folder, "write_table", interrupted)
    out = tmp_path / "killed"
    assert main(["run", "--strategy", "twap", *FAST, "--out", str(out)]) == 130
    assert "interrupted" in one_line_error(capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == [], "nothing half-written"


def test_a_results_file_that_fails_on_its_writer_thread_leaves_nothing(tmp_path, monkeypatch, capsys):
    """Results files are written on their own threads while the tables are computed: a failure there is the
    same one-line error as anywhere else, and the folder is not left half-written."""
    from execbench.errors import DataError
    from execbench.results import RunData

    real = RunData.save

    def failing(self, out_dir, run_id="", threads=1):
        if self.strategy == "flex":
            raise DataError(f"{out_dir}: no space left for results_flex.npz")
        return real(self, out_dir, run_id)

    monkeypatch.setattr(RunData, "save", failing)
    out = tmp_path / "full"
    assert main(["compare", "--strategies", "twap,flex", *FAST, "--out", str(out)]) == 2
    assert "no space left for results_flex.npz" in one_line_error(capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == [], "nothing half-written"


def spy_on_early_writes(monkeypatch) -> list[tuple[str, bool]]:
    """(strategy, whether its files were started early) for every ``ComparisonFolder.add``, as it happens."""
    import execbench.reporting.run_folder as run_folder

    real_add, added = run_folder.ComparisonFolder.add, []

    def add(self, name, evaluation):
        real_add(self, name, evaluation)
        added.append((name, name in self._started))

    monkeypatch.setattr(run_folder.ComparisonFolder, "add", add)
    return added


@pytest.mark.parametrize("command, folder", [(["run", "--strategy", "twap"], "run"),
                                             (["compare", "--strategies", "twap,flex"], "cmp")])
def test_large_runs_write_their_results_after_the_tables(two_runs, tmp_path, monkeypatch, command, folder):
    """Past ``BESIDE_TABLES_BYTES`` a results file is written after the tables, not beside them (memory
    first), and a comparison writes nothing while it evaluates: the same folder, file for file."""
    import execbench.reporting.run_folder as run_folder

    monkeypatch.setattr(run_folder, "BESIDE_TABLES_BYTES", 0)
    added = spy_on_early_writes(monkeypatch)
    out = tmp_path / "large"
    assert main([*command, *FAST, "--out", str(out)]) == 0
    assert added == ([("twap", False), ("flex", False)] if folder == "cmp" else [])
    here = json.loads((out / "manifest.json").read_text())["files"]
    there = json.loads((two_runs / folder / "manifest.json").read_text())["files"]
    assert list(here) == list(there)
    for name in here:
        if name.endswith(".csv"):
            assert (out / name).read_bytes() == (two_runs / folder / name).read_bytes(), name


@pytest.fixture(scope="module")
def api_comparison():
    """twap and flex compared through the API on the CLI fixture's orders (``FAST``)."""
    from execbench.data import load_bars
    from execbench.orders import make_split
    from execbench.pipeline.evaluation import compare

    bars = load_bars("BTCUSDT")
    return compare(["twap", "flex"], bars, split=make_split(bars, "2026-04-27", None, None), audit=False)


TEXT_TABLES = (".csv", ".md", ".tex")


def test_a_comparison_written_as_it_is_evaluated_is_the_saved_one(two_runs, api_comparison, tmp_path):
    """The CLI starts each strategy's files while the next is evaluated (``comparison_folder``); the API's
    ``save_comparison`` writes them all at the end: the same paths in the same order, the same tables and
    captions byte for byte, and the same results."""
    from execbench.reporting.run_folder import comparison_folder, save_comparison

    saved = save_comparison(api_comparison, tmp_path / "saved")
    with comparison_folder(tmp_path / "early") as folder:
        for name, evaluation in api_comparison.items():
            folder.add(name, evaluation)
        early = folder.finish(api_comparison)
    assert [p.name for p in early] == [p.name for p in saved]
    names = json.loads((tmp_path / "saved" / "manifest.json").read_text())["files"]
    assert list(names) == list(json.loads((two_runs / "cmp" / "manifest.json").read_text())["files"])
    for other in (tmp_path / "early", two_runs / "cmp"):  # the API's early path, and the CLI's
        for name in names:
            if name.endswith(TEXT_TABLES):
                assert (other / name).read_bytes() == (tmp_path / "saved" / name).read_bytes(), (other, name)
        ours, theirs = np.load(tmp_path / "saved" / "results_flex.npz"), np.load(other / "results_flex.npz")
        assert set(ours.files) == set(theirs.files)
        for key in ours.files:
            if key != "run_id":
                np.testing.assert_array_equal(ours[key], theirs[key], err_msg=key)


def test_a_comparison_folder_left_without_finish_or_with_other_evaluations_leaves_nothing(api_comparison, tmp_path):
    from execbench.reporting.run_folder import comparison_folder

    out = tmp_path / "unfinished"
    with pytest.raises(ValueError, match="without ComparisonFolder.finish"):
        with comparison_folder(out) as folder:
            folder.add("twap", api_comparison["twap"])
    with pytest.raises(ValueError, match="flex added but not in the comparison"):
        with comparison_folder(out) as folder:
            folder.add("flex", api_comparison["flex"])
            folder.finish({"twap": api_comparison["twap"]})
    assert list(tmp_path.iterdir()) == [], "no folder and no stage"


def test_a_comparison_that_fails_after_its_first_files_leaves_nothing(tmp_path, monkeypatch, capsys):
    """A strategy that fails after the first one's files were started: one line, and no folder or stage."""
    import execbench.pipeline.evaluation as evaluation
    from execbench.errors import DataError

    real, seen = evaluation.evaluate, []
    added = spy_on_early_writes(monkeypatch)

    def second_fails(strategy, *args, **kwargs):
        seen.append(strategy.name)
        if strategy.name == "flex":
            raise DataError("flex: the data ran out")
        return real(strategy, *args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", second_fails)
    out = tmp_path / "failed"
    assert main(["compare", "--strategies", "twap,flex", *FAST, "--out", str(out)]) == 2
    assert seen == ["twap", "flex"] and added == [("twap", True)], "twap's files were being written"
    assert "the data ran out" in one_line_error(capsys)
    assert not out.exists() and list(tmp_path.iterdir()) == [], "nothing half-written"


@pytest.mark.parametrize("damage, message", [
    ("mix", "not part of run"),                   # the comparison's results copied into the run folder
    ("truncate", "changed since run"),            # a results file cut short
    ("garbage", "changed since run"),             # a results file overwritten
    ("no-manifest", "not a complete one"),        # an interrupted or older folder
    ("missing", "missing (listed in manifest.json"),
    ("record", "changed since run"),              # run.json edited after the run
])
def test_report_refuses_incomplete_corrupt_or_mixed_folders(two_runs, tmp_path, capsys, damage, message):
    folder = tmp_path / "damaged"
    shutil.copytree(two_runs / "run", folder)
    npz = folder / "results_twap.npz"
    if damage == "mix":
        for name in ("compare.json", "results_flex.npz"):
            shutil.copy(two_runs / "cmp" / name, folder / name)
    elif damage == "truncate":
        npz.write_bytes(npz.read_bytes()[:1000])
    elif damage == "garbage":
        npz.write_bytes(b"not a zip")
    elif damage == "no-manifest":
        (folder / "manifest.json").unlink()
    elif damage == "missing":
        npz.unlink()
    elif damage == "record":
        record = json.loads((folder / "run.json").read_text())
        record["strategy"] = "flex"
        (folder / "run.json").write_text(json.dumps(record))
    assert main(["report", str(folder)]) == 2
    assert message in one_line_error(capsys)
    assert not (folder / "report.pdf").exists()


def test_results_from_another_run_are_named(two_runs, tmp_path):
    """Even with a matching manifest entry, a results file of another run is refused by its run id."""
    from execbench.errors import DataError
    from execbench.results import RunData

    with pytest.raises(DataError, match="written by run .* not by run 'other'"):
        RunData.load(two_runs / "run" / "results_twap.npz", run_id="other")


def _tex_rows(text: str) -> list[list[str]]:
    body = text.split("\\midrule\n")[1].split("\n\\bottomrule")[0]
    unescape = {"\\_": "_", "\\%": "%", "\\&": "&", "\\#": "#", "\\$": "$"}
    rows = []
    for line in body.splitlines():
        cells = line.removesuffix(" \\\\").split(" & ")
        for escaped, plain in unescape.items():
            cells = [c.replace(escaped, plain) for c in cells]
        rows.append(cells)
    return rows


def test_latex_tables_escape_text_and_show_the_markdown_cells(two_runs):
    """Every .tex table would compile as text (no bare _, %, #, $ or &) and shows, row by row, the same cells
    as its Markdown twin (the same number format)."""
    import re

    tables = sorted((two_runs / "run").glob("*.tex")) + sorted((two_runs / "cmp").glob("*.tex"))
    assert len(tables) >= 8
    for tex in tables:
        text = tex.read_text()
        cells = [c for row in _tex_rows(text) for c in row]
        caption = re.search(r"\\caption\{(.*)\}\n", text).group(1)
        for part in cells + [caption]:
            assert not re.search(r"(?<!\\)[_%#$&]", part), (tex.name, part)
        md = tex.with_suffix(".md").read_text().splitlines()
        md_rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in md if line.startswith("|")][2:]
        assert md_rows == _tex_rows(text), tex.name
        columns = text.split("\\begin{tabular}{")[1].split("}")[0]
        assert all(len(row) == len(columns) for row in _tex_rows(text)), tex.name
