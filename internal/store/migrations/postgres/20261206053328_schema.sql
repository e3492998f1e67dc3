-- +goose Up
-- modify "git_repositories" table
ALTER TABLE "git_repositories" ADD COLUMN "owner" character varying NOT NULL DEFAULT '';

-- +goose Down
-- reverse: modify "git_repositories" table
ALTER TABLE "git_repositories" DROP COLUMN "owner";
