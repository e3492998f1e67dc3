-- +goose Up
-- modify "web_apps" table
ALTER TABLE "web_apps" ADD COLUMN "database_password" character varying NOT NULL DEFAULT '', ADD COLUMN "database_id" bigint NULL, ADD COLUMN "database_user_id" bigint NULL, ADD CONSTRAINT "web_apps_database_users_database_user" FOREIGN KEY ("database_user_id") REFERENCES "database_users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, ADD CONSTRAINT "web_apps_databases_database" FOREIGN KEY ("database_id") REFERENCES "databases" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;

-- +goose Down
-- reverse: modify "web_apps" table
ALTER TABLE "web_apps" DROP CONSTRAINT "web_apps_databases_database", DROP CONSTRAINT "web_apps_database_users_database_user", DROP COLUMN "database_user_id", DROP COLUMN "database_id", DROP COLUMN "database_password";
