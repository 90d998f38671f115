from tests.channels.sms.fixtures import sms_channel, twilio  # noqa: F401  (fixtures of this folder)
