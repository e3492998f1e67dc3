-- +goose Up
-- create "git_repositories" table
CREATE TABLE `git_repositories` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `description` text NOT NULL DEFAULT (''), `account_id` integer NOT NULL, `system_user_id` integer NOT NULL, CONSTRAINT `git_repositories_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `git_repositories_system_users_system_user` FOREIGN KEY (`system_user_id`) REFERENCES `system_users` (`id`) ON DELETE CASCADE);
-- create index "gitrepository_account_id" to table: "git_repositories"
CREATE INDEX `gitrepository_account_id` ON `git_repositories` (`account_id`);
-- create index "gitrepository_system_user_id_name" to table: "git_repositories"
CREATE UNIQUE INDEX `gitrepository_system_user_id_name` ON `git_repositories` (`system_user_id`, `name`);

-- +goose Down
-- reverse: create index "gitrepository_system_user_id_name" to table: "git_repositories"
DROP INDEX `gitrepository_system_user_id_name`;
-- reverse: create index "gitrepository_account_id" to table: "git_repositories"
DROP INDEX `gitrepository_account_id`;
-- reverse: create "git_repositories" table
DROP TABLE `git_repositories`;
