"""The composition: the one place that imports the parts and runs them as a process.

- ``runtime``: the embedded hub (``carhome serve``, ``carhome demo``) from a checked config;
- ``config``: the configuration file, the hub's, API's and homes' sections and each part's;
- ``charging``: the demo's charging (its wallbox an OCPP charger, its car on a smart plan);
- ``parts``: the parts a hub runs, in order (``hub_parts``), and ``compose``, the loop that runs them;
- ``demo``: the demo world (its home, owner and configuration);
- ``setup``: the first run's routes, which span access and charging, as a part;
- ``operations``: every HTTP operation the parts declare, and the OpenAPI description.

The faces (``carhome.cli``) import it lazily, inside the commands that run a hub.
"""
