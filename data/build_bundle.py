"""Rebuild the bundled market data in ``data/`` from the project's shared data folder.

Run from the repository root::

    .venv/bin/python data/build_bundle.py --source ../shared/data

It keeps ``open, high, low, close, volume, quote_volume`` (the columns execbench uses),
stores volumes as float32 (relative precision ~6e-8, i.e. ~0.001 bps on the bar VWAP) and
prices as float64, with zstd + byte-stream-split compression, and writes ``MANIFEST.json``
with the SHA-256 of every source and output file.  Nothing is filled, resampled or filtered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pandas as pd

KEEP = ["open", "high", "low", "close", "volume", "quote_volume"]
BINANCE_PAIRS = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT"]
BINANCE_FREQS = ["15m", "1h"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def convert(src: Path, dst: Path) -> dict:
    frame = pd.read_parquet(src)[KEEP].copy()
    frame[["volume", "quote_volume"]] = frame[["volume", "quote_volume"]].astype("float32")
    dst.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(
        dst,
        compression="zstd",
        compression_level=19,
        use_dictionary=False,
        use_byte_stream_split=KEEP,
    )
    return {
        "file": dst.as_posix(),
        "source": src.as_posix(),
        "source_sha256": sha256(src),
        "sha256": sha256(dst),
        "rows": int(len(frame)),
        "first_bar": str(frame.index[0]),
        "last_bar": str(frame.index[-1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("../shared/data"))
    parser.add_argument("--dest", type=Path, default=Path("data"))
    args = parser.parse_args()
    entries = []
    for pair in BINANCE_PAIRS:
        for freq in BINANCE_FREQS:
            name = f"{pair}_{freq}.parquet"
            entries.append(convert(args.source / "binance" / name, args.dest / "binance" / name))
    for src in sorted((args.source / "dow").glob("*_1d.parquet")):
        entries.append(convert(src, args.dest / "dow" / src.name))
    for src in sorted((args.source / "dow" / "former_constituents").glob("*_1d.parquet")):
        entries.append(convert(src, args.dest / "dow" / "former_constituents" / src.name))
    for entry in entries:
        entry["file"] = Path(entry["file"]).relative_to(args.dest).as_posix()
        entry["source"] = Path(entry["source"]).relative_to(args.source).as_posix()
    manifest = {"columns": KEEP, "volume_dtype": "float32", "price_dtype": "float64", "files": entries}
    (args.dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = sum((args.dest / e["file"]).stat().st_size for e in entries)
    print(f"wrote {len(entries)} files, {total / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
