"""`python -m swflow.app.web`: serve the web app on SWFLOW_WEB_HOST:SWFLOW_WEB_PORT (started by serve)."""

from __future__ import annotations


def main() -> None:
    import uvicorn

    from swflow.config.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        "swflow.app.web.app:create_app",
        factory=True,
        workers=settings.web_workers,  # processes sharing the port: pages are CPU-bound Python
        host=settings.web_host,
        port=settings.web_port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
