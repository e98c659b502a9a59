"""pylayers: a BuildKit frontend that installs Python dependencies one layer per package."""

__version__ = "0.1.0"
