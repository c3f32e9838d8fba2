-- Events that name only an address, with who held it then: identity resolution's answer read from
-- ip_bindings at query time (a range join on address and event time), as the detection stage gives it:
-- people win over devices; several identities, or a shared egress address, are 'ambiguous' (never
-- guessed) with their candidates; '' when nothing was bound. The events' own resolved_identity and
-- identity_source columns stay empty: a binding can arrive after its events landed, and events are
-- never rewritten, so this query (not the ingest) is where the answer is (README, identity resolution).
-- Parameters: since, until (DateTime64(3)): event time window; limit (UInt32).
SELECT
    event_id,
    time,
    address,
    source_format,
    action,
    target_host,
    if(length(people) > 0, people, devices) AS candidates,
    length(candidates) = 1 AND NOT if(length(people) > 0, people_shared, devices_shared) AS resolved,
    if(resolved, if(length(people) > 0, best_person, best_device), '') AS resolved_identity,
    multiIf(resolved, if(length(people) > 0, best_person_source, best_device_source),
            length(candidates) > 0, 'ambiguous', '') AS identity_source,
    if(resolved, if(length(people) > 0, best_person_binding, best_device_binding), '') AS binding_id
FROM
(
    -- the binding held the address at the event's time (no match: the epoch to the epoch, never)
    WITH b.valid_from <= e.time AND e.time < b.valid_to AS active
    SELECT
        e.event_id AS event_id,
        any(e.time) AS time,
        any(e.src_ip) AS address,
        any(e.source_format) AS source_format,
        any(e.action) AS action,
        any(e.target_host) AS target_host,
        arraySort(groupUniqArrayIf(lower(b.identity), b.kind = 'user' AND active)) AS people,
        arraySort(groupUniqArrayIf(lower(b.identity), b.kind = 'device' AND active)) AS devices,
        maxIf(b.shared, b.kind = 'user' AND active) AS people_shared,
        maxIf(b.shared, b.kind = 'device' AND active) AS devices_shared,
        argMaxIf(b.identity, (b.confidence, b.valid_from, b.binding_id), b.kind = 'user' AND active) AS best_person,
        argMaxIf(b.source, (b.confidence, b.valid_from, b.binding_id), b.kind = 'user' AND active) AS best_person_source,
        argMaxIf(b.binding_id, (b.confidence, b.valid_from, b.binding_id), b.kind = 'user' AND active)
            AS best_person_binding,
        argMaxIf(b.identity, (b.confidence, b.valid_from, b.binding_id), b.kind = 'device' AND active) AS best_device,
        argMaxIf(b.source, (b.confidence, b.valid_from, b.binding_id), b.kind = 'device' AND active)
            AS best_device_source,
        argMaxIf(b.binding_id, (b.confidence, b.valid_from, b.binding_id), b.kind = 'device' AND active)
            AS best_device_binding
    FROM
    (
        SELECT event_id, time, src_ip, source_format, action, target_host
        FROM events FINAL
        WHERE time >= {since:DateTime64(3)} AND time < {until:DateTime64(3)} AND actor = '' AND src_ip != ''
    ) AS e
    LEFT JOIN
    (
        SELECT ip, identity, kind, source, confidence, shared, valid_from, valid_to, binding_id
        FROM ip_bindings FINAL
        WHERE valid_to > {since:DateTime64(3)} AND valid_from < {until:DateTime64(3)}
    ) AS b ON b.ip = e.src_ip
    GROUP BY e.event_id
)
ORDER BY time, event_id
LIMIT {limit:UInt32}
