import sys

from core.cli.start import run

sys.exit(run())
