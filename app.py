"""WSGI entry point: `gunicorn app:app`, `flask --app app ...`."""

from plugin import create_app

app = create_app()
