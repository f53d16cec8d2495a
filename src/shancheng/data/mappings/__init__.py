"""Editable data files: the OSM tag → living-circle category mapping."""
