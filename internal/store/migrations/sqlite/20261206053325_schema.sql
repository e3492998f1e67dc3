-- +goose Up
-- disable the enforcement of foreign-keys constraints
PRAGMA foreign_keys = off;
-- create "new_git_repositories" table
CREATE TABLE `new_git_repositories` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `owner` text NOT NULL DEFAULT (''), `account_id` integer NOT NULL, `system_user_id` integer NOT NULL, CONSTRAINT `git_repositories_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `git_repositories_system_users_system_user` FOREIGN KEY (`system_user_id`) REFERENCES `system_users` (`id`) ON DELETE CASCADE);
-- copy rows from old table "git_repositories" to new temporary table "new_git_repositories"
INSERT INTO `new_git_repositories` (`id`, `created_at`, `updated_at`, `version`, `name`, `description`, `account_id`, `system_user_id`) SELECT `id`, `created_at`, `updated_at`, `version`, `name`, `description`, `account_id`, `system_user_id` FROM `git_repositories`;
-- drop "git_repositories" table after copying rows
DROP TABLE `git_repositories`;
-- rename temporary table "new_git_repositories" to "git_repositories"
ALTER TABLE `new_git_repositories` RENAME TO `git_repositories`;
-- create index "gitrepository_account_id" to table: "git_repositories"
CREATE INDEX `gitrepository_account_id` ON `git_repositories` (`account_id`);
-- create index "gitrepository_system_user_id_name" to table: "git_repositories"
CREATE UNIQUE INDEX `gitrepository_system_user_id_name` ON `git_repositories` (`system_user_id`, `name`);
-- enable back the enforcement of foreign-keys constraints
PRAGMA foreign_keys = on;

-- +goose Down
-- reverse: create index "gitrepository_system_user_id_name" to table: "git_repositories"
DROP INDEX `gitrepository_system_user_id_name`;
-- reverse: create index "gitrepository_account_id" to table: "git_repositories"
DROP INDEX `gitrepository_account_id`;
-- reverse: create "new_git_repositories" table
DROP TABLE `new_git_repositories`;
