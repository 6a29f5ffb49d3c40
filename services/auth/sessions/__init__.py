"""Sessions: log-ins (handlers), the sessions with their refresh tokens (keeper, store: the
`sessions` collection), the signed access tokens (access_tokens), and the login lockout
(throttle/)."""
