"""Demo worker: one line a second, an error line every tenth."""

import os
import sys
import time

n = 0
while True:
    n += 1
    print(f"worker {os.getpid()} tick {n}", flush=True)
    if n % 10 == 0:
        print(
            f"worker {os.getpid()}: something went wrong at tick {n}", file=sys.stderr, flush=True
        )
    time.sleep(1)
