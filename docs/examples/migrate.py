"""Demo one-shot: a database migration that takes a couple of seconds and exits 0.

The demo's `web` watcher waits for it (`depends_on = { migrate = "completed" }`); the console
shows `migrate` running, then completed, and `web` waiting for it meanwhile."""

import time

for step in ("0001_initial", "0002_add_orders", "0003_index_orders"):
    print(f"migrate: applying {step}", flush=True)
    time.sleep(0.7)
print("migrate: done", flush=True)
