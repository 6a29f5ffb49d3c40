import sys

from services.dossier.cli import run

run(sys.argv[1:])
