"""Building blocks of the Large Execution Model (issue 5, in progress): causal features and the
training loss.  The model, its training and the strategy adapter are not here yet."""
