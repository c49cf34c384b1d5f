"""The release, in one place: the package, the verdict's generator field and the CLI read it."""

__version__ = "0.1.0"
