import sys

from .cli import main

if __name__ == "__main__":  # also imported, without running, when pytest collects doctests
    sys.exit(main())
