"""A watcher's states, as `status` reports them: Circus's five, and ours."""

ACTIVE, STARTING, STOPPING, STOPPED, FAILED = "active", "starting", "stopping", "stopped", "failed"
# Ours: a watcher whose depends_on does not hold yet; one whose processes all ended for good
# with a success code (restart = "on-failure" or "never").
WAITING, COMPLETED = "waiting", "completed"
