"""swflow: community social work service projects (《社区社会工作服务指南》) run as Prefect flows.

One import root. The folders at the top of the repository are its rooms (see docs/architecture.md):
definitions (`config`, `forms_spec`), the database (`db`), the agency's acts and rules (`domain`),
the record (`archive`), `notifications`, the Prefect `tasks` and `flows`, and the doors (`app`).
"""
