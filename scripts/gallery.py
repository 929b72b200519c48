#!/usr/bin/env python3
"""Write a static HTML gallery over an output folder's sidecars. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("gallery")  # before any dependency is imported
    from mediagen.cli.gallery import main

    sys.exit(main())
