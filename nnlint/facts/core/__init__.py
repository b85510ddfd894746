"""The Python analysis core: syntax helpers, imports and bindings, def-use chains and the abstract
interpreter. It knows nothing of torch or of data pipelines; their knowledge plugs into the
interpreter as semantics (see `semantics.py`)."""
