-- +goose Up
-- create "web_apps" table
CREATE TABLE `web_apps` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `type` text NOT NULL, `settings` json NULL, `account_id` integer NOT NULL, CONSTRAINT `web_apps_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "webapp_account_id_name" to table: "web_apps"
CREATE UNIQUE INDEX `webapp_account_id_name` ON `web_apps` (`account_id`, `name`);
-- create "websites" table
CREATE TABLE `websites` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `protocol` text NOT NULL DEFAULT (''), `domains` json NULL, `is_active` bool NOT NULL DEFAULT (true), `account_id` integer NOT NULL, CONSTRAINT `websites_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "website_account_id_name" to table: "websites"
CREATE UNIQUE INDEX `website_account_id_name` ON `websites` (`account_id`, `name`);
-- create "website_contents" table
CREATE TABLE `website_contents` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `path` text NOT NULL DEFAULT ('/'), `website_id` integer NOT NULL, `webapp_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `website_contents_websites_website` FOREIGN KEY (`website_id`) REFERENCES `websites` (`id`) ON DELETE CASCADE, CONSTRAINT `website_contents_web_apps_webapp` FOREIGN KEY (`webapp_id`) REFERENCES `web_apps` (`id`) ON DELETE CASCADE, CONSTRAINT `website_contents_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "websitecontent_website_id_path" to table: "website_contents"
CREATE UNIQUE INDEX `websitecontent_website_id_path` ON `website_contents` (`website_id`, `path`);
-- create index "websitecontent_webapp_id" to table: "website_contents"
CREATE INDEX `websitecontent_webapp_id` ON `website_contents` (`webapp_id`);
-- create index "websitecontent_account_id" to table: "website_contents"
CREATE INDEX `websitecontent_account_id` ON `website_contents` (`account_id`);
-- create "website_directives" table
CREATE TABLE `website_directives` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `type` text NOT NULL, `settings` json NULL, `website_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `website_directives_websites_website` FOREIGN KEY (`website_id`) REFERENCES `websites` (`id`) ON DELETE CASCADE, CONSTRAINT `website_directives_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "websitedirective_website_id" to table: "website_directives"
CREATE INDEX `websitedirective_website_id` ON `website_directives` (`website_id`);
-- create index "websitedirective_account_id" to table: "website_directives"
CREATE INDEX `websitedirective_account_id` ON `website_directives` (`account_id`);

-- +goose Down
-- reverse: create index "websitedirective_account_id" to table: "website_directives"
DROP INDEX `websitedirective_account_id`;
-- reverse: create index "websitedirective_website_id" to table: "website_directives"
DROP INDEX `websitedirective_website_id`;
-- reverse: create "website_directives" table
DROP TABLE `website_directives`;
-- reverse: create index "websitecontent_account_id" to table: "website_contents"
DROP INDEX `websitecontent_account_id`;
-- reverse: create index "websitecontent_webapp_id" to table: "website_contents"
DROP INDEX `websitecontent_webapp_id`;
-- reverse: create index "websitecontent_website_id_path" to table: "website_contents"
DROP INDEX `websitecontent_website_id_path`;
-- reverse: create "website_contents" table
DROP TABLE `website_contents`;
-- reverse: create index "website_account_id_name" to table: "websites"
DROP INDEX `website_account_id_name`;
-- reverse: create "websites" table
DROP TABLE `websites`;
-- reverse: create index "webapp_account_id_name" to table: "web_apps"
DROP INDEX `webapp_account_id_name`;
-- reverse: create "web_apps" table
DROP TABLE `web_apps`;
