"""Stage 9, reporting: run folders (tables as CSV/Markdown/LaTeX, per-order results, the run record),
figures and the PDF report."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "report": ["build_report"],
    "run_folder": ["comparison_folder", "default_out_dir", "run_record", "save_comparison", "save_evaluation"],
    "writers": ["format_number", "write_table"],
})
