-- What a delivery holds, digested whatever the file looked like (issue 11): the same counts in
-- a file with other bytes (other column order, another encoding, CSV instead of .xlsx) were
-- stored twice and counted twice once both were approved. content_sha256 tells the same file;
-- cells_sha256 tells the same content: store.deliveries.content_digest over the rows as
-- validated, in any order (counted rows: area, week, indicator, counts; single events:
-- category, minute, position; references are not part of it). The store refuses one whose digest
-- is that of a pending or approved delivery of the same actor. Deliveries stored before this
-- migration (or written without a digest) keep NULL; the store's cell-by-cell comparison
-- (store.deliveries._SHARED_CELLS) finds repeats of those too.
ALTER TABLE lagesbild.delivery
    ADD COLUMN cells_sha256 text CHECK (cells_sha256 ~ '^[0-9a-f]{64}$');
CREATE INDEX delivery_cells_sha256_idx ON lagesbild.delivery (actor_id, cells_sha256);
