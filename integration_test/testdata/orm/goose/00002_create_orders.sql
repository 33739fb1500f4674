-- +goose Up
CREATE TABLE {{p}}orders (
    id      bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES {{p}}users (id),
    total   numeric(12, 2) NOT NULL
);

-- A statement with semicolons inside dollar quotes.
-- +goose StatementBegin
CREATE FUNCTION {{p}}order_total(uid bigint) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    t numeric;
BEGIN
    SELECT COALESCE(sum(total), 0) INTO t FROM {{p}}orders WHERE user_id = uid;
    RETURN t;
END;
$$;
-- +goose StatementEnd

INSERT INTO {{p}}users (email) VALUES ('seed@example.test');

-- +goose Down
DROP FUNCTION {{p}}order_total(bigint);
DROP TABLE {{p}}orders;
