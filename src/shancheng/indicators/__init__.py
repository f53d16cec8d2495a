"""The city's headline figures: one application layer between the pillars and the API/CLI.

:mod:`~shancheng.indicators.citystate` evaluates a City once (living circles, pipe networks,
monitoring); :mod:`~shancheng.indicators.measures` is the registry of the measures the plan,
the dashboard and ``shancheng indicators`` share, and the one place they are computed;
:mod:`~shancheng.indicators.targets` and :mod:`~shancheng.indicators.figures` hold the plan's
targets and the figures entered by hand.
"""
