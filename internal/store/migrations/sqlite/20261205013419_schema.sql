-- +goose Up
-- create "cron_jobs" table
CREATE TABLE `cron_jobs` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `schedule` text NOT NULL, `command` text NOT NULL, `is_active` bool NOT NULL DEFAULT (true), `account_id` integer NOT NULL, `system_user_id` integer NOT NULL, CONSTRAINT `cron_jobs_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `cron_jobs_system_users_system_user` FOREIGN KEY (`system_user_id`) REFERENCES `system_users` (`id`) ON DELETE CASCADE);
-- create index "cronjob_account_id" to table: "cron_jobs"
CREATE INDEX `cronjob_account_id` ON `cron_jobs` (`account_id`);
-- create index "cronjob_system_user_id" to table: "cron_jobs"
CREATE INDEX `cronjob_system_user_id` ON `cron_jobs` (`system_user_id`);

-- +goose Down
-- reverse: create index "cronjob_system_user_id" to table: "cron_jobs"
DROP INDEX `cronjob_system_user_id`;
-- reverse: create index "cronjob_account_id" to table: "cron_jobs"
DROP INDEX `cronjob_account_id`;
-- reverse: create "cron_jobs" table
DROP TABLE `cron_jobs`;
