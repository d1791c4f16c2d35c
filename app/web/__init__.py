"""The web door for workers, supervisors, managers and directors: server-rendered pages (zh-CN,
phone first), sign-in sessions, signed links. Routes parse a request, call one domain act as the
signed-in person, and render the answer; every rule stays in the domain."""

from .app import create_app

__all__ = ["create_app"]
