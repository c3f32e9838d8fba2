-- Identity resolution (streams/enrich/identity.py): who was behind an event that names only an address,
-- and which binding said so (its source: okta_signin, zpa_session, dhcp_lease, ..., or 'ambiguous').
-- Empty when the event names its actor itself or nothing was bound. The detection stage resolves the
-- events it evaluates and the alerts carry the answer; a stored event keeps what was known when it
-- landed, and `sql/queries/resolved_addresses.sql` reads the bindings as they are now.
ALTER TABLE events ADD COLUMN IF NOT EXISTS resolved_identity String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS identity_source LowCardinality(String) DEFAULT '';
