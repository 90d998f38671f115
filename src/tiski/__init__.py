"""Tiski: an open-source, self-hostable omnichannel customer-service platform."""

__version__ = "0.1.0"
