"""Mobility: the drive network, through movement, school zones and bottleneck candidates.

A pillar beside :mod:`shancheng.circles`: it reads a City (and report locations handed to it
as a table), never the cases pillar's internals.
"""
