"""`make docs`: the tables and figures of README and docs/, rebuilt from the runs recorded in docs/runs."""
