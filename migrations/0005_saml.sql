CREATE TABLE `saml_assertions` (
	`issuer` text NOT NULL,
	`assertion_id` text NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `saml_assertions_issuer_id_unique` ON `saml_assertions` (`issuer`,`assertion_id`);--> statement-breakpoint
CREATE TABLE `saml_requests` (
	`hash` text PRIMARY KEY NOT NULL,
	`request_id` text NOT NULL,
	`domain` text NOT NULL,
	`redirect_after` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer
);
