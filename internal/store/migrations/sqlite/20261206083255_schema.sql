-- +goose Up
-- create "contracted_plans" table
CREATE TABLE `contracted_plans` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `plan_id` integer NOT NULL, `account_id` integer NOT NULL, CONSTRAINT `contracted_plans_plans_plan` FOREIGN KEY (`plan_id`) REFERENCES `plans` (`id`) ON DELETE RESTRICT, CONSTRAINT `contracted_plans_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE);
-- create index "contractedplan_account_id" to table: "contracted_plans"
CREATE INDEX `contractedplan_account_id` ON `contracted_plans` (`account_id`);
-- create index "contractedplan_plan_id" to table: "contracted_plans"
CREATE INDEX `contractedplan_plan_id` ON `contracted_plans` (`plan_id`);
-- create "plans" table
CREATE TABLE `plans` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `name` text NOT NULL, `verbose_name` text NOT NULL DEFAULT (''), `is_active` bool NOT NULL DEFAULT (true), `is_default` bool NOT NULL DEFAULT (false), `is_combinable` bool NOT NULL DEFAULT (true), `allow_multiple` bool NOT NULL DEFAULT (false));
-- create index "plan_name" to table: "plans"
CREATE UNIQUE INDEX `plan_name` ON `plans` (`name`);
-- create "rates" table
CREATE TABLE `rates` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `quantity` integer NOT NULL DEFAULT (0), `price` text NOT NULL, `service_id` integer NOT NULL, `plan_id` integer NOT NULL, CONSTRAINT `rates_services_service` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE, CONSTRAINT `rates_plans_plan` FOREIGN KEY (`plan_id`) REFERENCES `plans` (`id`) ON DELETE CASCADE);
-- create index "rate_service_id_plan_id_quantity" to table: "rates"
CREATE UNIQUE INDEX `rate_service_id_plan_id_quantity` ON `rates` (`service_id`, `plan_id`, `quantity`);
-- create "services" table
CREATE TABLE `services` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `description` text NOT NULL, `model` text NOT NULL, `match` text NOT NULL DEFAULT (''), `periodic_update` bool NOT NULL DEFAULT (false), `is_active` bool NOT NULL DEFAULT (true), `ignore_superusers` bool NOT NULL DEFAULT (true), `billing_period` text NOT NULL DEFAULT ('ANUAL'), `billing_point` text NOT NULL DEFAULT ('ON_FIXED_DATE'), `is_fee` bool NOT NULL DEFAULT (false), `order_description` text NOT NULL DEFAULT (''), `ignore_period` text NOT NULL DEFAULT ('TEN_DAYS'), `metric` text NOT NULL DEFAULT (''), `nominal_price` text NOT NULL, `tax` integer NOT NULL DEFAULT (0), `pricing_period` text NOT NULL DEFAULT ('BILLING_PERIOD'), `rate_algorithm` text NOT NULL DEFAULT ('STEP_PRICE'), `on_cancel` text NOT NULL DEFAULT ('DISCOUNT'), `payment_style` text NOT NULL DEFAULT ('PREPAY'));
-- create index "service_description" to table: "services"
CREATE UNIQUE INDEX `service_description` ON `services` (`description`);

-- +goose Down
-- reverse: create index "service_description" to table: "services"
DROP INDEX `service_description`;
-- reverse: create "services" table
DROP TABLE `services`;
-- reverse: create index "rate_service_id_plan_id_quantity" to table: "rates"
DROP INDEX `rate_service_id_plan_id_quantity`;
-- reverse: create "rates" table
DROP TABLE `rates`;
-- reverse: create index "plan_name" to table: "plans"
DROP INDEX `plan_name`;
-- reverse: create "plans" table
DROP TABLE `plans`;
-- reverse: create index "contractedplan_plan_id" to table: "contracted_plans"
DROP INDEX `contractedplan_plan_id`;
-- reverse: create index "contractedplan_account_id" to table: "contracted_plans"
DROP INDEX `contractedplan_account_id`;
-- reverse: create "contracted_plans" table
DROP TABLE `contracted_plans`;
