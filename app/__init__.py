"""The doors: the `swflow` CLI (`cli/`), the web app (`web/`), the embedded default (`serve/`).
Nothing imports app/."""
