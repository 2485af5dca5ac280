"""What a report needs from an evaluation, saved next to its tables and loaded back.

``results_<strategy>.npz`` holds, per (order, scenario): bps (float32, paper sign), the realised end
bar and violation counts; the same achieved prices against the full-window benchmark and the arrival
price; the bps of the zero-information stopping policy (``optstop``, the option's value) on the same
orders and scenarios; the kept allocations (float32); the TWAP baseline's bps against the
full-horizon VWAP; the orders (asset, origin, and the causal volatility regime at the origin when
the run recorded it) and the scenario grid.  Folders written before the
three references existed load with them as ``None``.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from execbench.contracts import MATCH, TARGETS, ContractSpec, PerScenario, ScenarioGrid, perf_bps, scenario_label
from execbench.errors import DataError
from execbench.results.deflate import PARALLEL_BYTES, can_deflate_in_parallel, deflate_member
from execbench.results.manifest import read_manifest, verify_file
from execbench.threads import cores
from execbench.engine import ReplayResult
from execbench.engine.replay.columns import Columns, RowTable, ScenarioTable, StoredRows, part, read_npy_header
from execbench.engine.replay.store import memory_budget

# the TWAP baselines: buys against the full-horizon VWAP, quantity and notional target
BASELINE_LABELS = tuple(scenario_label("buy", "vwap", target, MATCH) for target in TARGETS)


STREAM_ROWS = 16384  # orders per block when results on disk are written out


LEVEL = 1  # zlib level of the results files
SAMPLE_BYTES = 1 << 20  # what is test-compressed to decide whether a member is worth compressing
INCOMPRESSIBLE = 0.9  # a member whose sample deflates to more than this share of its size is stored
SLOW_DEFLATE = 0.5  # a member whose sample deflates to more than this share is slow to deflate (about 35 MB/s)


def _deflated_share(value: np.ndarray | Columns | StoredRows) -> float:
    """The share of their size that the first ``SAMPLE_BYTES`` of a member deflate to (0 for a few bytes):
    per-order bps of an adaptive strategy are float32 noise that deflate by 6 %, at about 40 MB/s."""
    row_bytes = max(1, int(np.prod(value.shape[1:], dtype=np.int64)) * value.dtype.itemsize)
    rows = max(1, SAMPLE_BYTES // row_bytes)
    if isinstance(value, (Columns, StoredRows)):
        sample = np.ascontiguousarray(value.block(0, min(rows, len(value))), dtype=value.dtype).tobytes()
    else:
        sample = np.ascontiguousarray(np.asanyarray(value)[:rows] if np.ndim(value) else value).tobytes()
    return 0.0 if len(sample) < 4096 else len(zlib.compress(sample, LEVEL)) / len(sample)


def savez_fast(path: Path, threads: int = 1, /, **arrays: np.ndarray | Columns | StoredRows) -> None:
    """``np.savez_compressed`` at zlib level 1: what ``np.load`` reads, written in half the time (0.6 s
    against 1.2 s for a BTCUSDT run's results) for a file about 12 % larger (5.9 MB against 5.3 MB);
    members that would deflate by less than 10 % (``_deflated_share``) are stored as they are.  With
    ``threads`` > 1, members over ``PARALLEL_BYTES`` that deflate slowly (by less than half) are deflated
    on that many threads (``execbench.results.deflate``: LEM's kept allocations, 73 MB, took 2.1 s on
    one; TWAP's deflate to 2 % in 0.2 s, no faster on two); the default, one, is for a writer that runs
    beside other work.
    ``Columns`` and ``StoredRows`` are written a block of orders at a time, so results on disk are never
    whole in memory.  Members are C-ordered: an order's scenarios side by side compress far better (a
    Fortran-ordered BTCUSDT file was 7 times larger)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=LEVEL) as archive, \
            ThreadPoolExecutor(max(1, threads), thread_name_prefix="execbench-deflate") as pool:
        for name, value in arrays.items():
            member_name: str | zipfile.ZipInfo = f"{name}.npy"
            share = _deflated_share(value)
            if share > INCOMPRESSIBLE:
                member_name = zipfile.ZipInfo(f"{name}.npy")
                member_name.compress_type = zipfile.ZIP_STORED
            with archive.open(member_name, "w", force_zip64=True) as member:
                if (threads > 1 and SLOW_DEFLATE < share <= INCOMPRESSIBLE and value.size * value.dtype.itemsize > PARALLEL_BYTES
                        and can_deflate_in_parallel(member)):
                    deflate_member(member, pool, LEVEL, threads)
                if isinstance(value, (Columns, StoredRows)):
                    np.lib.format.write_array_header_1_0(member, {  # the header version write_array uses
                        "descr": np.lib.format.dtype_to_descr(value.dtype), "fortran_order": False,
                        "shape": value.shape})
                    for block in value.blocks(STREAM_ROWS):
                        member.write(np.ascontiguousarray(block, dtype=value.dtype).tobytes())
                else:
                    np.lib.format.write_array(member, np.asanyarray(value), allow_pickle=False)


@dataclass(frozen=True, eq=False, repr=False)
class RunData(PerScenario):
    """One strategy's per-order results on a run's orders: what a run folder keeps of a ``ReplayResult``
    (``from_result``, ``from_evaluation``) and what reports and statistics read back (``load``)."""

    strategy: str
    grid: ScenarioGrid
    bps: np.ndarray  # (n, S), paper sign
    end_bar: np.ndarray  # (n, S)
    violations: np.ndarray  # (n, S)
    baseline_bps: np.ndarray  # (n, 2): TWAP quantity / notional vs the full-horizon VWAP
    orders: pd.DataFrame  # asset, origin (UTC), regime (when recorded)
    allocations: np.ndarray | None = None  # (n, T, K)
    kept: tuple[str, ...] = ()
    full_bps: np.ndarray | None = None  # (n, S), paper sign, against the benchmark over all T bars
    arrival_bps: np.ndarray | None = None  # (n, S), paper sign, against the arrival price
    option_bps: np.ndarray | None = None  # (n, S), paper sign: optstop's bps on the same orders and scenarios

    EXTRAS: ClassVar[tuple[str, ...]] = ("full_bps", "arrival_bps", "option_bps")

    def __repr__(self) -> str:
        return (f"RunData({self.strategy!r}: {self.n_orders:,} orders × {len(self.grid)} scenarios, T={self.horizon}"
                + (f", allocations for {len(self.kept)} scenarios)" if self.kept else ")"))

    def time_order(self) -> np.ndarray:
        """Positions of the orders sorted by origin time (stable), for block bootstraps."""
        return np.argsort(self.orders["origin"].to_numpy("datetime64[ns]"), kind="stable")

    @classmethod
    def from_result(cls, strategy: str, result: ReplayResult, baseline: ReplayResult,
                    option: ReplayResult | None = None) -> "RunData":
        """From a strategy's ``ReplayResult``, the TWAP baseline's on the same orders and, if given,
        the stopping policy's (``optstop``) on the same orders (NaN for the match case, which has no option,
        and for scenarios it did not run)."""
        baseline_bps = np.column_stack([baseline.column("bps", label) for label in BASELINE_LABELS])
        extras = {}
        if result.reference is not None:
            extras = {"full_bps": result.bps_against("full"), "arrival_bps": result.bps_against("arrival")}
        if option is not None:
            specs, labels = result.grid.specs, set(option.grid.labels)
            extras["option_bps"] = Columns((result.n_orders, len(specs)), np.float64, lambda s, start, stop: (
                part(option.bps, option.grid.index(specs[s].label), start, stop)
                if specs[s].label in labels and not specs[s].match else np.full(max(0, stop - start), np.nan)))
            if not isinstance(result.bps, Columns):  # results in memory: one array, as the others
                extras["option_bps"] = np.asarray(extras["option_bps"])
        return cls(strategy=strategy, grid=result.grid, bps=result.bps, end_bar=result.end_bar,
                   violations=result.violations, baseline_bps=baseline_bps, orders=result.orders,
                   allocations=result.allocations, kept=result.kept, **extras)

    def perf_against(self, reference: str, scenario: int | None = None) -> np.ndarray | None:
        """perf_bps (positive = better) against ``"realised"`` (the contract), ``"full"`` (the full
        window), ``"arrival"`` (the arrival price) or ``"option"`` (optstop's perf_bps against the realised
        window on the same orders), (n, S), or (n,) for the ``scenario`` at that index alone (the same
        numbers, without the (n, S) array); ``None`` where the run did not record it."""
        values = {"realised": self.bps, "full": self.full_bps, "arrival": self.arrival_bps,
                  "option": self.option_bps}[reference]
        if values is None:
            return None
        if scenario is None:
            return perf_bps(values, self.grid.side_sign)
        return perf_bps(values[:, scenario:scenario + 1], self.grid.side_sign[scenario:scenario + 1])[:, 0]

    @classmethod
    def from_evaluation(cls, evaluation) -> "RunData":
        """From an ``Evaluation`` (anything with ``strategy``, ``result`` and ``baseline``)."""
        return cls.from_result(evaluation.strategy, evaluation.result, evaluation.baseline)

    def save(self, out_dir: Path, run_id: str = "", *, threads: int = 1) -> Path:
        """Write ``results_<strategy>.npz`` (tagged with ``run_id``) into ``out_dir``, its large members
        deflated on ``threads`` threads (``savez_fast``); returns its path."""
        path = Path(out_dir) / f"results_{self.strategy}.npz"
        savez_fast(
            path, threads,
            run_id=np.array(run_id),
            strategy=np.array(self.strategy),
            grid=np.array(json.dumps([asdict(s) | {"effective_min_rate": None} for s in self.grid.specs])),
            bps=self.bps.astype(np.float32),
            end_bar=self.end_bar.astype(np.int16),
            violations=self.violations.astype(np.int16),
            baseline_bps=self.baseline_bps.astype(np.float32),
            asset=self.orders["asset"].to_numpy().astype(str),
            origin=self.orders["origin"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64),
            allocations=np.zeros((0,), np.float32) if self.allocations is None else self.allocations,
            kept=np.array(self.kept, dtype=str),
            **({"regime": self.orders["regime"].to_numpy().astype(str)} if "regime" in self.orders else {}),
            **{name: np.zeros((0,), np.float32) if getattr(self, name) is None else getattr(self, name).astype(np.float32)
               for name in self.EXTRAS},
        )
        return path

    @classmethod
    def load(cls, path: Path, run_id: str | None = None, *, allocations: bool = True,
             extras: bool = True) -> "RunData":
        """Read a results file; with ``run_id``, refuse one written by another run.  ``allocations=False``
        and ``extras=False`` leave the kept allocations and the three references unread (each is a
        separately compressed member, so skipping them skips their decompression).  A file whose fields
        would take more than the results' memory budget (``EXECBENCH_RESULTS_MEMORY_MB``) is read a block
        of orders at a time into temporary files, its fields ``Columns`` and ``StoredRows`` of the same
        values (``_streamed_fields``)."""
        try:
            data = np.load(path, allow_pickle=False)
            if run_id is not None and str(data["run_id"]) != run_id:
                raise DataError(f"{path}: written by run {str(data['run_id'])!r}, not by run {run_id!r}; the folder "
                                "mixes runs")
            specs = []
            for fields in json.loads(str(data["grid"])):
                fields.pop("effective_min_rate", None)
                specs.append(ContractSpec(**fields))
            streamed = _streamed_fields(data.zip, allocations, extras)
            stored = np.zeros((0,), np.float32) if not allocations else (
                streamed["allocations"] if "allocations" in streamed else data["allocations"])
            orders = pd.DataFrame({
                "asset": data["asset"].astype(object),
                "origin": pd.DatetimeIndex(data["origin"].astype("datetime64[ns]")).tz_localize("UTC"),
            })
            if "regime" in data.files:
                orders["regime"] = data["regime"].astype(object)
            present = [name for name in cls.EXTRAS if extras and name in data.files and _size(data.zip, name)]
            fields = {name: streamed[name] if name in streamed else data[name].astype(READ_DTYPES[name])
                      for name in ("bps", "end_bar", "violations", *present)}
            return cls(strategy=str(data["strategy"]), grid=ScenarioGrid(tuple(specs)),
                       baseline_bps=data["baseline_bps"].astype(np.float64), orders=orders,
                       allocations=None if stored.size == 0 else stored,
                       kept=tuple(data["kept"].tolist()) if stored.size else (), **fields)
        except DataError:
            raise
        except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(f"{path}: not a readable execbench results file ({type(exc).__name__}: {exc})") from None


READ_DTYPES = {"bps": np.float64, "end_bar": np.int64, "violations": np.int64, "full_bps": np.float64,
               "arrival_bps": np.float64, "option_bps": np.float64}  # what ``RunData.load`` gives each field


def _size(archive: zipfile.ZipFile, name: str) -> int:
    """How many values member ``name`` holds (from its header: nothing decompressed past it)."""
    with archive.open(f"{name}.npy") as member:
        return int(np.prod(read_npy_header(member)[0]))


def _streamed_fields(archive: zipfile.ZipFile, allocations: bool, extras: bool) -> dict[str, Columns | StoredRows]:
    """The per-order fields of the results file ``archive`` that ``RunData.load`` should read from disk:
    none while they fit the results' memory budget in memory (``EXECBENCH_RESULTS_MEMORY_MB``); past it,
    every (orders × scenarios) field and the kept allocations, decompressed a block of orders at a time
    into unlinked temporary files and read back as ``Columns`` (one scenario at a time, converted to the
    dtype an in-memory load gives) and ``StoredRows``: memory then stays flat in the number of orders."""
    names = [*READ_DTYPES] + (["allocations"] if allocations else [])
    names = [n for n in names if extras or n not in RunData.EXTRAS]
    present = {info.filename.removesuffix(".npy") for info in archive.infolist()}
    headers = {}
    for name in (n for n in names if n in present):
        with archive.open(f"{name}.npy") as member:
            headers[name] = read_npy_header(member)
    headers = {name: h for name, h in headers.items() if int(np.prod(h[0])) and not h[1]}  # C-ordered, not empty
    in_memory = sum(int(np.prod(shape)) * (np.dtype(READ_DTYPES[name]).itemsize if name in READ_DTYPES
                                           else dtype.itemsize) for name, (shape, _, dtype) in headers.items())
    if in_memory <= memory_budget():
        return {}
    return {name: _stream_member(archive, name, READ_DTYPES.get(name)) for name in headers}


def _stream_member(archive: zipfile.ZipFile, name: str, read_dtype: Any) -> Columns | StoredRows:
    with archive.open(f"{name}.npy") as member:
        shape, _, dtype = read_npy_header(member)
        n, row_shape = shape[0], tuple(shape[1:])
        table = (ScenarioTable(n, row_shape[0], dtype, on_disk=True, read_dtype=read_dtype) if len(row_shape) == 1
                 else RowTable(n, row_shape, dtype, on_disk=True))
        row_bytes = int(np.prod(row_shape)) * dtype.itemsize
        for start in range(0, n, STREAM_ROWS):
            count = min(STREAM_ROWS, n - start)
            raw = bytearray()
            while len(raw) < count * row_bytes:
                chunk = member.read(count * row_bytes - len(raw))
                if not chunk:
                    raise EOFError(f"{name}.npy ends after {start + len(raw) // row_bytes} of {n} rows")
                raw += chunk
            table.write(np.arange(start, start + count), np.frombuffer(raw, dtype=dtype).reshape(count, *row_shape))
    return table.array(np.arange(n)) if len(row_shape) == 1 else table.array()


RECORDS = ("run.json", "compare.json")


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, RunData]]:
    """The run record (``run.json`` or ``compare.json``) and every strategy's results in a run folder.

    Every file read must be listed in the folder's completion manifest with its size and hash, and
    carry the same run id: a folder that is incomplete, corrupt or mixes two runs is a one-line
    ``DataError`` naming the file.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run folder")
    manifest = read_manifest(run_dir)
    run_id = manifest["run_id"]
    verified = set()
    for stray in [*(run_dir / n for n in RECORDS), *run_dir.glob("results_*.npz")]:
        if stray.is_file():  # a record or results file the run did not write: refuse rather than mix
            verify_file(run_dir, stray.name, manifest)
            verified.add(stray.name)
    names = [n for n in RECORDS if n in manifest["files"]]
    if len(names) != 1:
        raise DataError(f"{run_dir}: the manifest of run {run_id} lists {names or 'no run record'}; expected one of "
                        f"{', '.join(RECORDS)}")
    record_path = verify_file(run_dir, names[0], manifest)
    try:
        record = json.loads(record_path.read_text())
    except ValueError as exc:
        raise DataError(f"{record_path}: not valid JSON ({exc})") from None
    if record.get("run_id") != run_id:
        raise DataError(f"{record_path}: belongs to run {record.get('run_id')!r}, the manifest to run {run_id!r}")
    strategies = record["strategy"] if isinstance(record["strategy"], list) else [record["strategy"]]
    paths = [verify_file(run_dir, f"results_{name}.npz", manifest, hash=f"results_{name}.npz" not in verified)
             for name in strategies]  # each file hashed once
    with ThreadPoolExecutor(cores()) as pool:
        loaded = list(pool.map(lambda path: RunData.load(path, run_id=run_id), paths))  # inflating releases the GIL
    return record, dict(zip(strategies, loaded, strict=True))
