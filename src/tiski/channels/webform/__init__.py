from tiski.channels.webform import adapter  # noqa: F401  (registers the adapter)
