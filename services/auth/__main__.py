import sys

from services.auth.cli import run

run(sys.argv[1:])
