"""MyBroker gateway: the only HTTP entry (JSON API, admin API, web pages, file streams)."""
