"""lindring: steady states of driven-dissipative spin chains with non-local dissipation."""
__version__ = "0.1.0"
