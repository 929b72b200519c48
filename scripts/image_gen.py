#!/usr/bin/env python3
"""Generate images with Google's models. See --help."""
import sys

from mediagen.cli.image_gen import main

if __name__ == "__main__":
    sys.exit(main())
