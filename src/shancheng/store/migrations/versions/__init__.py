"""Migration scripts; each pillar on its own branch starting at revision ``s0000``."""
