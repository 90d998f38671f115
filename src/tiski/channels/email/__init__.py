from tiski.channels.email import adapter  # noqa: F401  (registers the adapter)
