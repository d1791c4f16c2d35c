"""`python -m flows.runner`: serve the service-project deployment (started by `swflow serve`)."""

from __future__ import annotations


def main() -> None:
    from config.settings import use_prefect_settings

    use_prefect_settings()
    from prefect import serve

    from .service_project import service_project

    serve(service_project.to_deployment(name="swflow"), print_starting_message=False)


if __name__ == "__main__":
    main()
