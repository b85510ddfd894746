"""What data-pipeline code means: splits, scalers fitted on which data, loaders and shuffling.
Built on the core and on the torch layer (a loader's role comes from the training loop that reads it)."""
