# The periodic tick: renew, repair, sweep, collect (functions/channels).
#
# Cloud Scheduler sends a fixed body and cannot put the current time in it, so the payload has
# no `issuedAt`; the Pub/Sub message's publish time says when the tick was issued.
locals {
  tick_command = {
    v       = 1
    command = "tick"
  }
}

resource "google_cloud_scheduler_job" "tick" {
  project   = var.project_id
  region    = var.region
  name      = "${var.prefix}-tick"
  schedule  = var.tick_schedule
  time_zone = "Etc/UTC"

  description = "Publishes the channels tick (renew, repair, sweep) to channel-commands."

  retry_config {
    retry_count = 1
  }

  pubsub_target {
    topic_name = google_pubsub_topic.channel_commands.id
    data       = base64encode(jsonencode(local.tick_command))
  }

  depends_on = [google_project_service.this]
}
