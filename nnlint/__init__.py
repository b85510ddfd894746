"""nnlint: a linter for the bugs that make neural networks train quietly wrong."""

__version__ = "0.1.0"
