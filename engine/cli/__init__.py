"""The `driftplan` command line: one module per command group."""
