import sys

from rmr1_plugin.cli import main

sys.exit(main())
