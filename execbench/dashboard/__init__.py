"""The interactive dashboard over saved folders (``app``: the Streamlit script; ``launch``: starts it).
A UI layer like the CLI: it reads through ``execbench.explore`` and runs new evaluations through the CLI."""
