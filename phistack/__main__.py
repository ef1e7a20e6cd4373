import sys

from phistack.cli import main

sys.exit(main())
