"""The SMS port seen from a calling service (signing): `SmsSender` over servicekit's RpcClient."""

from libs.contracts.sms import SEND_SMS, SendSmsRequest, SmsReceipt
from libs.servicekit.rpc import RpcClient

# A send with retries and back-off can take ~25 s with the notifier's defaults; waiting less
# would report "unavailable" for an SMS that is still on its way (a retry with the same key is
# safe, but the signer would be told to try again for nothing).
SEND_SMS_TIMEOUT_SECONDS = 30.0


class BusSmsSender:
    """Sends SMS through the notifier (`notifier.rpc.send_sms`); implements `SmsSender`."""

    def __init__(
        self, rpc: RpcClient, *, timeout_seconds: float = SEND_SMS_TIMEOUT_SECONDS
    ) -> None:
        self._rpc = rpc
        self._timeout = timeout_seconds

    async def send_sms(self, request: SendSmsRequest) -> SmsReceipt:
        """Send the SMS of `request` once, or raise the notifier's typed error."""
        return await self._rpc.call(SEND_SMS, request, timeout_seconds=self._timeout)
