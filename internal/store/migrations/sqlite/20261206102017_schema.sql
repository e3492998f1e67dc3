-- +goose Up
-- create "metric_storages" table
CREATE TABLE `metric_storages` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `value` text NOT NULL, `created_on` datetime NOT NULL, `updated_on` datetime NOT NULL, `order_id` integer NOT NULL, CONSTRAINT `metric_storages_orders_order` FOREIGN KEY (`order_id`) REFERENCES `orders` (`id`) ON DELETE CASCADE);
-- create index "metricstorage_order_id" to table: "metric_storages"
CREATE INDEX `metricstorage_order_id` ON `metric_storages` (`order_id`);
-- create "orders" table
CREATE TABLE `orders` (`id` integer NOT NULL PRIMARY KEY AUTOINCREMENT, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `version` integer NOT NULL DEFAULT (1), `model` text NOT NULL, `object_id` integer NOT NULL, `registered_on` datetime NOT NULL, `cancelled_on` datetime NULL, `billed_on` datetime NULL, `billed_until` datetime NULL, `billed_metric` text NULL, `ignore` bool NOT NULL DEFAULT (false), `description` text NOT NULL DEFAULT (''), `object_repr` text NOT NULL DEFAULT (''), `account_id` integer NOT NULL, `service_id` integer NOT NULL, CONSTRAINT `orders_accounts_account` FOREIGN KEY (`account_id`) REFERENCES `accounts` (`id`) ON DELETE CASCADE, CONSTRAINT `orders_services_service` FOREIGN KEY (`service_id`) REFERENCES `services` (`id`) ON DELETE CASCADE);
-- create index "order_model_object_id" to table: "orders"
CREATE INDEX `order_model_object_id` ON `orders` (`model`, `object_id`);
-- create index "order_account_id_service_id" to table: "orders"
CREATE INDEX `order_account_id_service_id` ON `orders` (`account_id`, `service_id`);
-- create index "order_registered_on" to table: "orders"
CREATE INDEX `order_registered_on` ON `orders` (`registered_on`);

-- +goose Down
-- reverse: create index "order_registered_on" to table: "orders"
DROP INDEX `order_registered_on`;
-- reverse: create index "order_account_id_service_id" to table: "orders"
DROP INDEX `order_account_id_service_id`;
-- reverse: create index "order_model_object_id" to table: "orders"
DROP INDEX `order_model_object_id`;
-- reverse: create "orders" table
DROP TABLE `orders`;
-- reverse: create index "metricstorage_order_id" to table: "metric_storages"
DROP INDEX `metricstorage_order_id`;
-- reverse: create "metric_storages" table
DROP TABLE `metric_storages`;
