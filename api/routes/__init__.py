"""One router per resource; :func:`api.app.create_app` includes each module's ``router``."""
