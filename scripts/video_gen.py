#!/usr/bin/env python3
"""Generate videos with Veo or Gemini Omni. See --help."""
import sys

import setup_env

if __name__ == "__main__":
    setup_env.start("video_gen")  # before any dependency is imported
    from mediagen.cli.video_gen import main

    sys.exit(main())
