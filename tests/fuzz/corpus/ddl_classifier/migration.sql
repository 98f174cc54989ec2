SET lock_timeout = '2s';
BEGIN;
ALTER TABLE orders ADD COLUMN note text;
CREATE INDEX CONCURRENTLY i ON orders (note);
COMMIT;
