"""Experiments: many runs of the model, one way.

``rechain sweep``, ``compare``, ``validate`` and ``calibrate`` run their model runs through
one executor, and sweeps and calibrations keep them in one store:

- :mod:`.paths`: parameter paths into scenario dicts (``export_controls[name].approval[0].rate``);
- :mod:`.designs`: grid, Latin hypercube (the one of rechain), Sobol', Morris and table designs;
- :mod:`.executor`: serial, local processes or Dask, one interface;
- :mod:`.runs`: one run of one design point (what the workers do);
- :mod:`.store`: Parquet part files, manifest, resuming, :func:`~.store.load_results`;
- :mod:`.sweep`: sweep files and running them (``rechain sweep``);
- :mod:`.functions`: the model as a plain function (EMA Workbench, SALib);
- :mod:`.compare`, :mod:`.validate`, :mod:`.calibrate`, :mod:`.analyze`: the commands.

The old modules ``rechain.sweep``, ``rechain.compare``, ``rechain.validate``,
``rechain.calibrate`` and ``rechain.analyze`` re-export these names.
"""
