-- CREATE INDEX CONCURRENTLY cannot run in a transaction block: goose runs
-- this file's statements one by one outside a transaction.

-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY {{p}}orders_user_idx ON {{p}}orders (user_id);

-- +goose Down
DROP INDEX CONCURRENTLY {{p}}orders_user_idx;
