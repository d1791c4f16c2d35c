"""Entry points for people: the `swflow` CLI (a web app later). Nothing imports app/."""
