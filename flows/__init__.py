"""Prefect flows and their deployment. Imported by module (`swflow.flows.service_project`, …): this
`__init__` stays empty so a flow-run process loads only the flow it runs."""
