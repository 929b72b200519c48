#!/usr/bin/env python3
"""Write a static HTML gallery over an output folder's sidecars. See --help."""
import sys

from mediagen.cli.gallery import main

if __name__ == "__main__":
    sys.exit(main())
