"""A tiny WSGI app for the pylayers example image."""

from importlib.metadata import version

import flask
import yaml

application = flask.Flask(__name__)


@application.route("/")
def index() -> str:
    return yaml.safe_dump({"hello": "pylayers", "flask": version("flask")})
