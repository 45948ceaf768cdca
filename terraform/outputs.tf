output "allowed_domains" {
  description = "CONFSYNC_ALLOWED_DOMAINS for the confsync command line (`confsync enroll` checks every subject against it before publishing)."
  value       = join(",", var.allowed_domains)
}

output "build_service_account" {
  description = "E-mail of the service account Cloud Build builds the functions as (whoever deploys needs roles/iam.serviceAccountUser on it)."
  value       = google_service_account.build.email
}

output "channel_commands_topic" {
  description = "Topic of channel commands (enroll, unenroll, tick); CONFSYNC_CHANNEL_COMMANDS_TOPIC for the confsync command line."
  value       = google_pubsub_topic.channel_commands.name
}

output "dashboard" {
  description = "Id (projects/P/dashboards/D) of the Cloud Monitoring dashboard."
  value       = google_monitoring_dashboard.main.id
}

output "dead_letter_subscription" {
  description = "Pull subscription keeping dead letters for inspection (`gcloud pubsub subscriptions pull`)."
  value       = google_pubsub_subscription.dead_letter_inspect.name
}

output "dead_letter_topic" {
  description = "Full id (projects/P/topics/T) of the topic receiving messages that failed every delivery attempt: the dead-letter topic of the sync and channels push subscriptions."
  value       = google_pubsub_topic.dead_letter.id
}

output "delegation_client_id" {
  description = "calendar_credentials = \"delegated\": the client id (numeric unique id of the <prefix>-calendar service account) a Workspace administrator authorizes for domain-wide delegation, with the scopes in `delegation_scopes`; null in the other modes."
  value       = local.delegated ? google_service_account.calendar[0].unique_id : null
}

output "delegation_scopes" {
  description = "calendar_credentials = \"delegated\": the OAuth scopes to authorize for `delegation_client_id`; empty in the other modes."
  value       = local.delegated ? local.calendar_scopes : []
}

output "function_names" {
  description = "Deployed function names, by function."
  value = {
    channels = module.channels.name
    intake   = module.intake.name
    sync     = module.sync.name
  }
}

output "intake_url" {
  description = "Public HTTPS address of the intake function (the address of every events.watch channel)."
  value       = module.intake.url
}

output "push_subscriptions" {
  description = "Push subscription feeding each Pub/Sub-fed function, by function (the name a dead letter's CloudPubSubDeadLetterSourceSubscription attribute carries)."
  value = {
    channels = google_pubsub_subscription.channels_push.name
    sync     = google_pubsub_subscription.sync_push.name
  }
}

output "scheduler_job" {
  description = "Full name (projects/P/locations/L/jobs/J) of the tick job: CONFSYNC_SCHEDULER_JOB for the confsync command line (`confsync tick` runs it, `confsync status` shows it)."
  value       = google_cloud_scheduler_job.tick.id
}

output "service_accounts" {
  description = "E-mail of each function's own service account, by function."
  value = {
    channels = module.channels.service_account_email
    intake   = module.intake.service_account_email
    sync     = module.sync.service_account_email
  }
}

output "source_bucket" {
  description = "Bucket holding the functions' source zips."
  value       = google_storage_bucket.sources.name
}

output "sync_requests_topic" {
  description = "Topic of SyncRequests; CONFSYNC_SYNC_TOPIC for the confsync command line."
  value       = google_pubsub_topic.sync_requests.name
}
