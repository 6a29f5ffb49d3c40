"""Names of the RabbitMQ topology every service agrees on."""

EVENTS_EXCHANGE = "mybroker.events"
"""Durable topic exchange; routing key `<producer>.<aggregate>.<event>`."""

DEAD_LETTER_EXCHANGE = "mybroker.dead"
"""Fanout exchange receiving poison messages; bound to the queue `mybroker.dead`."""

DEAD_LETTER_QUEUE = "mybroker.dead"

MAX_DELIVERIES = 5
"""A consumer queue dead-letters a message after this many failed deliveries."""

RECONNECT_SECONDS = 1.0
"""How often a lost bus connection is tried again (aio-pika's default is 5 s): a service is
back within about a second of RabbitMQ, so calls queued for it meanwhile wait little."""
