#!/usr/bin/env python3
"""mediagen's tools as an MCP server (stdio, or --http on 127.0.0.1). See --help."""
import sys

from mediagen.cli.mcp_server import main

if __name__ == "__main__":
    sys.exit(main())
