ALTER TABLE `passcodes` ADD `spent_into` text;--> statement-breakpoint
ALTER TABLE `tickets` ADD `spent_into` text;--> statement-breakpoint
ALTER TABLE `webauthn_challenges` ADD `spent_into` text;