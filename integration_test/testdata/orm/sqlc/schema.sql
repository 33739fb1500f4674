CREATE TABLE orm_sqlc_authors (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    bio        text,
    tags       text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT '2022-03-04 05:06:07.080910+00'
);

CREATE TABLE orm_sqlc_books (
    id        bigserial PRIMARY KEY,
    uid       uuid NOT NULL DEFAULT gen_random_uuid(),
    author_id bigint NOT NULL REFERENCES orm_sqlc_authors (id) ON DELETE CASCADE,
    isbn      text NOT NULL UNIQUE,
    title     text NOT NULL,
    price     numeric(10, 2) NOT NULL,
    published date
);
