"""The composition: the one place that imports the parts and runs them as a process.

- ``runtime``: the embedded hub (``carhome serve``, ``carhome demo``) from a checked config;
- ``config``: the configuration file, the hub's, API's and homes' sections and each part's;
- ``charging``: the OCPP central system and the charging controllers made from the config;
- ``parts``: the parts a hub runs, in order, and ``compose``, the loop that runs them;
- ``demo``: the demo world (its home, owner and configuration);
- ``setup``: the first run's routes, which span access and charging;
- ``operations``: every HTTP operation the parts declare, and the OpenAPI description.

The faces (``carhome.cli``) import it lazily, inside the commands that run a hub.
"""
