-- +goose Up
-- modify "execution_logs" table
ALTER TABLE "execution_logs" ADD COLUMN "secret_script" text NOT NULL DEFAULT '', ADD COLUMN "secrets" jsonb NULL;

-- +goose Down
-- reverse: modify "execution_logs" table
ALTER TABLE "execution_logs" DROP COLUMN "secrets", DROP COLUMN "secret_script";
