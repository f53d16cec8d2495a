"""Lifelines: the digital twin of the gas, water and drainage pipes under the dense districts.

Pure modules (``pipes``, ``isolation``, ``alarms``, ``leaks``, ``monitoring``), the telemetry
store (``telemetry``), the MQTT adapter (``mqtt``) and the public API (``service``).
"""
