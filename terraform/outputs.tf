output "channel_commands_topic" {
  description = "Topic of channel commands (enrol, unenrol, tick); CONFSYNC_CHANNEL_COMMANDS_TOPIC for the confsync command line."
  value       = google_pubsub_topic.channel_commands.name
}

output "dead_letter_topic" {
  description = "Topic receiving messages that failed every delivery attempt."
  value       = google_pubsub_topic.dead_letter.name
}

output "function_names" {
  description = "Deployed function names, by function."
  value = {
    channels = google_cloudfunctions2_function.channels.name
    intake   = google_cloudfunctions2_function.intake.name
    sync     = google_cloudfunctions2_function.sync.name
  }
}

output "intake_url" {
  description = "Public HTTPS address of the intake function (the address of every events.watch channel)."
  value       = google_cloudfunctions2_function.intake.url
}

output "source_bucket" {
  description = "Bucket holding the functions' source zips."
  value       = google_storage_bucket.sources.name
}

output "sync_requests_topic" {
  description = "Topic of SyncRequests; CONFSYNC_SYNC_TOPIC for the confsync command line."
  value       = google_pubsub_topic.sync_requests.name
}
