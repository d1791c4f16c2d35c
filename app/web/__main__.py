"""`python -m swflow.app.web`: serve the web app on SWFLOW_WEB_HOST:SWFLOW_WEB_PORT (started by serve)."""

from __future__ import annotations


def main() -> None:
    import uvicorn

    from swflow.config.settings import get_settings

    from .app import create_app

    settings = get_settings()
    uvicorn.run(create_app(), host=settings.web_host, port=settings.web_port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
