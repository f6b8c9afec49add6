"""Started as a file by a group's interpreter: ``python -I .../bootstrap.py --listen FD ...``.

``-I`` keeps the interpreter isolated (no PYTHON* variables, no user site,
not even this file's folder on ``sys.path``), so the only wsgihost code the
daemon sees is the standard-library copy this file sits in.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from wsgihost.daemon.process import main

sys.exit(main())
