-- +goose Up
-- create "monitor_samples" table
CREATE TABLE `monitor_samples` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `monitor` text NOT NULL, `object_id` integer NOT NULL, `created_at` datetime NOT NULL, `value` text NOT NULL, `state` text NULL);
-- create index "monitorsample_monitor_object_id_created_at" to table: "monitor_samples"
CREATE INDEX `monitorsample_monitor_object_id_created_at` ON `monitor_samples` (`monitor`, `object_id`, `created_at`);
-- create "resources" table
CREATE TABLE `resources` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `label` text NOT NULL, `model` text NOT NULL, `aggregation` text NOT NULL DEFAULT ('last-10-days-avg'), `unit` text NOT NULL DEFAULT (''), `scale` text NOT NULL DEFAULT ('1'), `on_demand` bool NOT NULL DEFAULT (false), `default_allocation` integer NULL, `monitors` json NULL, `schedule` text NOT NULL DEFAULT (''), `on_exceed` text NOT NULL DEFAULT ('nothing'), `is_active` bool NOT NULL DEFAULT (true));
-- create index "resource_model_name" to table: "resources"
CREATE UNIQUE INDEX `resource_model_name` ON `resources` (`model`, `name`);
-- create index "resource_model_label" to table: "resources"
CREATE UNIQUE INDEX `resource_model_label` ON `resources` (`model`, `label`);
-- create "resource_data" table
CREATE TABLE `resource_data` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `version` integer NOT NULL DEFAULT (1), `object_id` integer NOT NULL, `used` text NULL, `allocated` integer NULL, `updated_at` datetime NULL, `exceeded` bool NOT NULL DEFAULT (false), `resource_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `resource_data_resources_resource` FOREIGN KEY (`resource_id`) REFERENCES `resources` (`id`) ON DELETE CASCADE, CONSTRAINT `resource_data_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "resourcedata_resource_id_object_id" to table: "resource_data"
CREATE UNIQUE INDEX `resourcedata_resource_id_object_id` ON `resource_data` (`resource_id`, `object_id`);
-- create index "resourcedata_account_id" to table: "resource_data"
CREATE INDEX `resourcedata_account_id` ON `resource_data` (`account_id`);

-- +goose Down
-- reverse: create index "resourcedata_account_id" to table: "resource_data"
DROP INDEX `resourcedata_account_id`;
-- reverse: create index "resourcedata_resource_id_object_id" to table: "resource_data"
DROP INDEX `resourcedata_resource_id_object_id`;
-- reverse: create "resource_data" table
DROP TABLE `resource_data`;
-- reverse: create index "resource_model_label" to table: "resources"
DROP INDEX `resource_model_label`;
-- reverse: create index "resource_model_name" to table: "resources"
DROP INDEX `resource_model_name`;
-- reverse: create "resources" table
DROP TABLE `resources`;
-- reverse: create index "monitorsample_monitor_object_id_created_at" to table: "monitor_samples"
DROP INDEX `monitorsample_monitor_object_id_created_at`;
-- reverse: create "monitor_samples" table
DROP TABLE `monitor_samples`;
