"""`python -m nnlab ...`"""

import sys

from nnlab.cli.main import main

sys.exit(main())
