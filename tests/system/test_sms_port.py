"""The running notifier process serves the SMS port: an identity code asked over the bus, as
the signing service will, lands in the stack's SMS directory, where `make dev` says to look."""

import uuid

import pytest

from deploy.local.sms_sink import read_sms, wait_for_sms
from libs.contracts.caller import Caller, Role
from libs.contracts.sms import SendSmsRequest, SmsPurpose, SmsSender, SmsStatus
from libs.servicekit.errors import Invalid
from libs.servicekit.rpc import RpcClient
from libs.servicekit.sms_sender import BusSmsSender
from tests.system.stack import SystemStack

pytestmark = pytest.mark.system

SIGNING = Caller(user_id="service:signing", role=Role.AGENT)


def identity_code(number: str, code: str) -> SendSmsRequest:
    return SendSmsRequest(
        caller=SIGNING, idempotency_key=f"system:{uuid.uuid4().hex}",
        purpose=SmsPurpose.IDENTITY_CODE, phone_number=number,
        account_id=f"u-{uuid.uuid4().hex[:8]}", language="en",
        parameters={"code": code, "valid_minutes": "10"})


async def test_an_identity_code_reaches_the_stacks_sms_directory_once(
    system_stack: SystemStack, amqp_url: str
) -> None:
    rpc = RpcClient(amqp_url)
    await rpc.connect()
    sender: SmsSender = BusSmsSender(rpc)  # what the signing service holds
    try:
        request = identity_code("0470 55 12 34", "480261")
        receipt = await sender.send_sms(request)
        replay = await sender.send_sms(request)
        with pytest.raises(Invalid, match="mobile number"):
            await sender.send_sms(identity_code("02 511 11 11", "480262"))
    finally:
        await rpc.close()

    assert receipt.status is SmsStatus.SENT and replay == receipt
    sms = wait_for_sms(system_stack.config.sms_dir, "+32470551234", containing="480261")
    assert sms.text.startswith("Your MyBroker code is 480261.")
    to_this_phone = [s for s in read_sms(system_stack.config.sms_dir) if s.to == sms.to]
    assert to_this_phone == [sms], "sent once, though asked twice"
