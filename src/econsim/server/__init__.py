"""``econsim serve``: a REST API and a browser dashboard over every built-in model (the ``server`` extra).

    from econsim.server.app import Settings, create_app
    app = create_app(Settings(data_dir="serve-data"))        # an ASGI app: uvicorn, or FastAPI's TestClient

Jobs (``jobs``) run configurations into results folders through the same runner and results store as
``econsim run``; sessions (``sessions``) hold live ``Simulation`` objects stepped on request; the
dashboard (``static/``) is plain HTML and JavaScript that talks only to the public API.
"""
