-- +goose Up
-- create "databases" table
CREATE TABLE `databases` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `type` text NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `databases_accounts_databases` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "database_name_type" to table: "databases"
CREATE UNIQUE INDEX `database_name_type` ON `databases` (`name`, `type`);
-- create index "database_account_id" to table: "databases"
CREATE INDEX `database_account_id` ON `databases` (`account_id`);
-- create "database_users" table
CREATE TABLE `database_users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `username` text NOT NULL, `password` text NOT NULL DEFAULT (''), `type` text NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `database_users_accounts_database_users` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "databaseuser_username_type" to table: "database_users"
CREATE UNIQUE INDEX `databaseuser_username_type` ON `database_users` (`username`, `type`);
-- create index "databaseuser_account_id" to table: "database_users"
CREATE INDEX `databaseuser_account_id` ON `database_users` (`account_id`);
-- create "system_users" table
CREATE TABLE `system_users` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `username` text NOT NULL, `password` text NOT NULL DEFAULT (''), `home` text NOT NULL DEFAULT (''), `directory` text NOT NULL DEFAULT (''), `shell` text NOT NULL DEFAULT ('/dev/null'), `is_main` bool NOT NULL DEFAULT (false), `is_active` bool NOT NULL DEFAULT (true), `account_id` integer NOT NULL, CONSTRAINT `system_users_accounts_system_users` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "system_users_username_key" to table: "system_users"
CREATE UNIQUE INDEX `system_users_username_key` ON `system_users` (`username`);
-- create index "systemuser_account_id" to table: "system_users"
CREATE INDEX `systemuser_account_id` ON `system_users` (`account_id`);
-- create "database_grants" table
CREATE TABLE `database_grants` (`database_id` integer NOT NULL, `database_user_id` integer NOT NULL, PRIMARY KEY (`database_id`, `database_user_id`), CONSTRAINT `database_grants_database_id` FOREIGN KEY (`database_id`) REFERENCES `databases` (`id`) ON DELETE CASCADE, CONSTRAINT `database_grants_database_user_id` FOREIGN KEY (`database_user_id`) REFERENCES `database_users` (`id`) ON DELETE CASCADE);
-- create "system_user_groups" table
CREATE TABLE `system_user_groups` (`system_user_id` integer NOT NULL, `group_id` integer NOT NULL, PRIMARY KEY (`system_user_id`, `group_id`), CONSTRAINT `system_user_groups_system_user_id` FOREIGN KEY (`system_user_id`) REFERENCES `system_users` (`id`) ON DELETE CASCADE, CONSTRAINT `system_user_groups_group_id` FOREIGN KEY (`group_id`) REFERENCES `system_users` (`id`) ON DELETE CASCADE);

-- +goose Down
-- reverse: create "system_user_groups" table
DROP TABLE `system_user_groups`;
-- reverse: create "database_grants" table
DROP TABLE `database_grants`;
-- reverse: create index "systemuser_account_id" to table: "system_users"
DROP INDEX `systemuser_account_id`;
-- reverse: create index "system_users_username_key" to table: "system_users"
DROP INDEX `system_users_username_key`;
-- reverse: create "system_users" table
DROP TABLE `system_users`;
-- reverse: create index "databaseuser_account_id" to table: "database_users"
DROP INDEX `databaseuser_account_id`;
-- reverse: create index "databaseuser_username_type" to table: "database_users"
DROP INDEX `databaseuser_username_type`;
-- reverse: create "database_users" table
DROP TABLE `database_users`;
-- reverse: create index "database_account_id" to table: "databases"
DROP INDEX `database_account_id`;
-- reverse: create index "database_name_type" to table: "databases"
DROP INDEX `database_name_type`;
-- reverse: create "databases" table
DROP TABLE `databases`;
