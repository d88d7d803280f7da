"""The web service: the REST API (`api/`), the pages (`ui/`), sign-in and security (FastAPI).

Routers translate HTTP to service calls and back, nothing more; authorisation is the service
layer's, as for the CLI. `create_app` (app.py) assembles them around a wired `App`.
"""
