# Topic names are the code's defaults (config.VARIABLES), so the `confsync` command line reaches
# production without extra configuration; the functions are still given them explicitly.
resource "google_pubsub_topic" "sync_requests" {
  #checkov:skip=CKV_GCP_83:messages are short-lived commands (calendar keys; an enrollment names a user and a calendar id), never event content; Google-managed encryption at rest is enough, and a CMEK key whose loss stops the stack is not worth it
  project = var.project_id
  name    = "sync-requests"

  message_retention_duration = "86400s"

  depends_on = [google_project_service.this]
}

resource "google_pubsub_topic" "channel_commands" {
  #checkov:skip=CKV_GCP_83:messages are short-lived commands (calendar keys; an enrollment names a user and a calendar id), never event content; Google-managed encryption at rest is enough, and a CMEK key whose loss stops the stack is not worth it
  project = var.project_id
  name    = "channel-commands"

  message_retention_duration = "86400s"

  depends_on = [google_project_service.this]
}

# Messages that failed every delivery attempt on the sync and channels push subscriptions
# (delivery.tf).
resource "google_pubsub_topic" "dead_letter" {
  #checkov:skip=CKV_GCP_83:messages are short-lived commands (calendar keys; an enrollment names a user and a calendar id), never event content; Google-managed encryption at rest is enough, and a CMEK key whose loss stops the stack is not worth it
  project = var.project_id
  name    = "${var.prefix}-dead-letter"

  depends_on = [google_project_service.this]
}

# Keeps dead letters for inspection (pull only, nobody consumes them automatically).
resource "google_pubsub_subscription" "dead_letter_inspect" {
  project = var.project_id
  name    = "${var.prefix}-dead-letter-inspect"
  topic   = google_pubsub_topic.dead_letter.id

  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}
