"""Version of lindring (one place; read by the package, the files and the report)."""
__version__ = "0.1.0"
