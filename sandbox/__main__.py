"""`python -m sandbox [--port N] [--folder DIR] [--reset] [--seed]`: the same as
`tipline sandbox`."""

import sys

from sandbox.cli import sandbox_main

if __name__ == "__main__":
    sys.exit(sandbox_main(sys.argv[1:]))
