"""Thin routers: parse the request, call the pillar's service, shape the answer."""
