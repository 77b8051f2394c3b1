"""SQL generated from a definition: the audit query and PostgreSQL enforcement."""
