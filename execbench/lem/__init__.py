"""The Large Execution Model: causal features, the keras model and its loss.

keras runs on JAX unless ``KERAS_BACKEND`` says otherwise (set before keras is first imported).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
