"""The Large Execution Model as a library: causal features, the keras model and its loss, size presets,
training data, training, checkpoints, the helpers both LEM strategy adapters share, and the
causal-vs-upstream alignment experiment.  ``strategies/lem.py`` (the ``lem`` plug-in) is a thin adapter
over it.

keras runs on JAX unless ``KERAS_BACKEND`` says otherwise (set before keras is first imported).
Exports load lazily: importing the package does not import keras.
"""

import os

import lazy_loader

os.environ.setdefault("KERAS_BACKEND", "jax")

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "adapter": ["grid_allocations", "model_unsupported", "predict_in_fixed_batches", "shared_rates"],
    "alignment": ["AlignmentResult", "alignment_experiment"],
    "backend": ["keras_backend"],
    "checkpoint": ["CheckpointWeights", "load_checkpoint", "read_config", "read_weights", "save_checkpoint"],
    "dataset": ["LEMDataset", "lem_dataset"],
    "features": ["ALIGNMENTS", "NORMALISER", "RETURN_SCALE", "feature_names", "lem_features", "min_history"],
    "presets": ["ARCHITECTURE", "PRESETS", "TRAINING", "training_params"],
    "training": ["TrainedLEM", "build_model", "train_lem"],
})
