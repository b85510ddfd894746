"""`nnlint server`: a language server over stdio (pygls), for editors.

It keeps one process, the open documents and each project's analysis warm (engine.LintSession)
and answers with the engine's own findings, fixes and rule pages: diagnostics on open, change
(debounced) and save, for Python files and notebooks; quick fixes, fix-all and noqa actions;
the rule's page on hover. Installed with the `server` extra (pygls, lsprotocol), imported only
by `nnlint server`."""
