"""Results I/O: the output schema (one table of every variable) and self-describing NetCDF files."""
