"""`rockway rehearse`: the release rehearsed on a throwaway copy of the schema, as one CI job runs it.

naming.py     the unique name prefix and the settings that put every database and role under it
snapshot.py   the schema after each `migrate up` (schema/live.py) and what the undo round trip changed
probes.py     what runs against the rehearsed schema: validate, lint, MVs, checks, jobs' SQL
api.py        the rehearsal as one function returning a Rehearsal (the CLI in cli/rehearse_cmd.py prints it)
report.py     JUnit XML and Markdown of a Rehearsal
container.py  a throwaway StarRocks (testcontainers), for `--start-starrocks`
"""
