from tiski.channels.sms import adapter  # noqa: F401  (registers the adapter)
