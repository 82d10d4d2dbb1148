"""python -m rasad.cli"""

from rasad.cli import main

main()
