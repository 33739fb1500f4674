-- name: CreateAuthor :one
INSERT INTO orm_sqlc_authors (name, bio, tags) VALUES ($1, $2, $3)
RETURNING id, name, bio, tags, created_at;

-- name: GetAuthor :one
SELECT id, name, bio, tags, created_at FROM orm_sqlc_authors WHERE id = $1;

-- name: ListAuthorsByIDs :many
SELECT id, name, bio, tags, created_at FROM orm_sqlc_authors
WHERE id = ANY($1::bigint[]) ORDER BY name;

-- name: UpdateAuthorBio :execrows
UPDATE orm_sqlc_authors SET bio = $2 WHERE id = $1;

-- name: DeleteAuthor :exec
DELETE FROM orm_sqlc_authors WHERE id = $1;

-- name: CreateBook :one
INSERT INTO orm_sqlc_books (author_id, isbn, title, price, published)
VALUES ($1, $2, $3, $4, $5)
RETURNING id, uid, author_id, isbn, title, price, published;

-- name: ListBooksWithAuthor :many
SELECT b.id, b.uid, b.title, b.price, b.published, a.name AS author_name
FROM orm_sqlc_books b JOIN orm_sqlc_authors a ON a.id = b.author_id
WHERE b.price >= $1 ORDER BY b.id;

-- name: AuthorTotals :one
SELECT count(*) AS books, COALESCE(sum(price), 0)::text AS total
FROM orm_sqlc_books WHERE author_id = $1;
