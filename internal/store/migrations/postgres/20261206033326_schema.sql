-- +goose Up
-- modify "website_directives" table
ALTER TABLE "website_directives" ADD COLUMN "password_hashes" jsonb NULL;

-- +goose Down
-- reverse: modify "website_directives" table
ALTER TABLE "website_directives" DROP COLUMN "password_hashes";
