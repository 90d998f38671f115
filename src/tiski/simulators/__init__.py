"""Local stand-ins for third-party providers, speaking their documented wire formats over real HTTP.

Tests and `tiski demo` point the channel adapters at these servers through the provider base-URL settings
(TISKI_TWILIO_API_URL, TISKI_META_GRAPH_URL), so nothing leaves the machine and nothing in Tiski is mocked.
"""
