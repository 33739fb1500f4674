-- {{p}} stands for a table-name prefix unique to each test run
-- (orm_goose_test.go substitutes it), so that runs can be parallel.

-- +goose Up
CREATE TABLE {{p}}users (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE {{p}}users;
