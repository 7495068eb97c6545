CREATE TABLE `recovery_codes` (
	`user_id` text NOT NULL,
	`code_mac` text NOT NULL,
	`created_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `recovery_codes_user_mac_idx` ON `recovery_codes` (`user_id`,`code_mac`);