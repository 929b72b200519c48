#!/usr/bin/env python3
"""Generate many images or videos from one input file, resumably. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("batch_gen")  # before any dependency is imported
    from mediagen.cli.batch_gen import main

    sys.exit(main())
