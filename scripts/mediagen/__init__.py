"""mediagen: generate images and videos with Google's models from the command line.

The package holds all logic; the scripts in ``scripts/`` are thin entry points.
Nothing in the package prints or exits: operations return values or raise
``mediagen.errors.MediagenError`` subclasses.
"""
from __future__ import annotations

__version__ = "0.1.0"
