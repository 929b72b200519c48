#!/usr/bin/env python3
"""Generate many images or videos from one input file, resumably. See --help."""
import sys

from mediagen.cli.batch_gen import main

if __name__ == "__main__":
    sys.exit(main())
