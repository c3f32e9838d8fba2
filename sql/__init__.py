"""aispm's SQL, shipped as package data: numbered DDL migrations (ddl/) and analyst queries (queries/)."""
