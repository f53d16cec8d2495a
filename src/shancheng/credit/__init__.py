"""Credit +: businesses' registry, enforcement decisions, publicity, credit tiers, inspections.

The enforcement pillar of ``DESIGN.md`` ("Growing past three pillars"): it sits above
``cases`` as ``lifelines`` does and reaches cases only through
:mod:`shancheng.cases.service`.
"""
