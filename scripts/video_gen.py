#!/usr/bin/env python3
"""Generate videos with Veo or Gemini Omni. See --help."""
import sys

from mediagen.cli.video_gen import main

if __name__ == "__main__":
    sys.exit(main())
