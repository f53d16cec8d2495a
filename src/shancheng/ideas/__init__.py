"""Participation: the "Golden Ideas" (金点子) campaigns, ideas, supports and official answers.

The participation pillar of ``DESIGN.md`` ("Growing past three pillars"): it sits above
``cases`` as ``lifelines`` and ``credit`` do, opens cases only through
:mod:`shancheng.cases.service` (wired in :mod:`~shancheng.ideas.case_link`), and hands
planning candidates to ``circles`` as data (:func:`shancheng.ideas.service.plan_candidates`).
"""
