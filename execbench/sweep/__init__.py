"""Sweeps at scale on Dask: strategies × assets × frequencies × horizons × parameter sets × seeds,
one task per cell, resumable, fault-isolated, written as a partitioned Parquet dataset
(``grid``: the cells and their checks; ``cell``: one cell on a worker; ``store``: the folder;
``runner``: Dask; ``summary``: the paper's multi-frequency tables and the seeds view)."""

from execbench.sweep.cell import SweepOptions, run_cell
from execbench.sweep.grid import SweepCell, sweep_cells
from execbench.sweep.runner import load_sweep, sweep, sweep_serial

__all__ = ["SweepCell", "SweepOptions", "load_sweep", "run_cell", "sweep", "sweep_cells", "sweep_serial"]
