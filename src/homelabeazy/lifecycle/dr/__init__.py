"""Disaster recovery: backups of the stateful core (Vault, LDAP, ...) kept off-cluster in S3."""
