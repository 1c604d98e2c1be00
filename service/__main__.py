import sys

from service.ops.cli import main

sys.exit(main())
