"""The three-level governance center: citizen, inspector and sensor reports from intake to closure.

Other pillars use only :mod:`shancheng.cases.service` and the value types of
:mod:`shancheng.cases.sensor_intake`; everything else here is internal to the pillar.
"""
