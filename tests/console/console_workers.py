"""python:// workers of the console tests (tests/console is on the daemon's PYTHONPATH)."""


def unencodable(request):
    return {"bad": {1, 2, 3}}      # a set: the host cannot store it, so the instance's handler crashes
