"""The HTTP API: the governance center's REST endpoints and its Open311 GeoReport v2 server.

Build the application with :func:`shancheng.api.app.create_app`; ``shancheng serve`` runs it
under uvicorn.
"""
