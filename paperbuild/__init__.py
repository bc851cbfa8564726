"""paperbuild: the paper-independent half of the reproducible-paper build.

Manifest checks, the number record, the ledger and drift check, the prose lint,
the step runner and the renderer live here; the science lives in ``analysis``.
Every module here imports only the standard library (and PyYAML lazily) at import
time, so that ``dodo.py`` can import them and stay instant.
"""
