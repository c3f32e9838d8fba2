-- Merge events and dead letters one column at a time (ClickHouse's vertical merge) whatever the size of
-- the merge. A row-wise merge reads a block of whole rows from every part it merges, and these rows carry
-- the raw record (~1 KB in an event, up to 64 KB in a dead letter): in the embedded store, merges of a
-- few hundred thousand events held ~290 MB at their peak that way and ~110 MB column by column, for the
-- same CPU per event (the defaults merge vertically only past 131,072 rows).
ALTER TABLE events MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1,
    vertical_merge_algorithm_min_columns_to_activate = 1;
ALTER TABLE dead_letters MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1,
    vertical_merge_algorithm_min_columns_to_activate = 1;
