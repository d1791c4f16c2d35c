"""`python -m flows.runner`: serve the service-project deployment (started by `swflow serve`)."""

from __future__ import annotations


def main() -> None:
    from datetime import timedelta

    from config.settings import get_settings, use_prefect_settings

    use_prefect_settings()
    from prefect import serve

    from .deadline_watch import deadline_watch
    from .service_project import service_project

    every = timedelta(minutes=get_settings().sweep_interval_minutes)
    serve(
        service_project.to_deployment(name="swflow"),
        deadline_watch.to_deployment(name="swflow", interval=every),
        print_starting_message=False,
    )


if __name__ == "__main__":
    main()
