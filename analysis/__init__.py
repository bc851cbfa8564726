"""The paper's analyses: one module per technique, each a set of pure functions plus
one ``run(source, out)`` edge that reads files and writes outputs.  The pipeline is
listed in :mod:`analysis.registry`."""
