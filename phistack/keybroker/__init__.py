"""The key broker: the customer-side service that releases data keys only to attested machines.

See docs/ATTESTATION.md for the protocol. Modules: ``appraisal`` (the Rego attestation policy),
``nonces`` (single-use, short-lived nonces, rationed per client), ``service`` (decisions and
auditing, no HTTP), ``auditing`` (bounded, aggregated records of refusals and issuance), ``limits``
(connection, time and size bounds; body parsing), ``server`` (HTTPS, TLS 1.3 only), ``config`` (the
broker's configuration file).
"""
