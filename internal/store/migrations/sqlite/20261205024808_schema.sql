-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_web_apps" table
CREATE TABLE `new_web_apps` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `type` text NOT NULL, `settings` json NULL, `database_password` text NOT NULL DEFAULT (''), `account_id` integer NOT NULL, `database_id` integer NULL, `database_user_id` integer NULL, CONSTRAINT `web_apps_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `web_apps_databases_database` FOREIGN KEY (`database_id`) REFERENCES `databases` (`id`) ON DELETE SET NULL, CONSTRAINT `web_apps_database_users_database_user` FOREIGN KEY (`database_user_id`) REFERENCES `database_users` (`id`) ON DELETE SET NULL);
-- copy rows from old table "web_apps" to new temporary table "new_web_apps"
INSERT INTO `new_web_apps` (`id`, `created_at`, `updated_at`, `version`, `name`, `type`, `settings`, `account_id`) SELECT `id`, `created_at`, `updated_at`, `version`, `name`, `type`, `settings`, `account_id` FROM `web_apps`;
-- drop "web_apps" table after copying rows
DROP TABLE `web_apps`;
-- rename temporary table "new_web_apps" to "web_apps"
ALTER TABLE `new_web_apps` RENAME TO `web_apps`;
-- create index "webapp_account_id_name" to table: "web_apps"
CREATE UNIQUE INDEX `webapp_account_id_name` ON `web_apps` (`account_id`, `name`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "webapp_account_id_name" to table: "web_apps"
DROP INDEX `webapp_account_id_name`;
-- reverse: create "new_web_apps" table
DROP TABLE `new_web_apps`;
