"""Demo program that fails a few seconds after it starts."""

import random
import sys
import time

time.sleep(random.uniform(0.5, 3))
print("flaky: giving up", file=sys.stderr, flush=True)
sys.exit(3)
