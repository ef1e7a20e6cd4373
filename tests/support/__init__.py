"""Helpers the tests share: real components (rsyslog, SoftHSM2) started and stopped by fixtures."""
