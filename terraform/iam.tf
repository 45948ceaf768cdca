# Each function has its own service account (modules/function), holding only what that function
# does:
#
# | function | Firestore      | publishes to                    | secrets                         | Calendar (delegated)     |
# |----------|----------------|---------------------------------|---------------------------------|--------------------------|
# | intake   | -              | sync-requests                   | channel-token keys              | -                        |
# | sync     | datastore.user | sync-requests (re-publish)      | conferencing credential, secret | token creator on calendar|
# | channels | datastore.user | sync-requests, channel-commands | channel-token keys              | token creator on calendar|
#
# With calendar_credentials = "oauth", sync and channels also read the two OAuth secrets.
# Secret accessor bindings and the triggers' IAM are made by the module; the Calendar grants are
# in calendar.tf, the build service account's in build.tf. Operators are granted nothing here
# (the README's "Operating confsync" lists the roles they need).
locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

# --- Firestore -------------------------------------------------------------------------------

resource "google_project_iam_member" "sync_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = module.sync.service_account_member
}

resource "google_project_iam_member" "channels_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = module.channels.service_account_member
}

# --- Pub/Sub publishing ----------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "intake_publishes_sync_requests" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_requests.name
  role    = "roles/pubsub.publisher"
  member  = module.intake.service_account_member
}

resource "google_pubsub_topic_iam_member" "sync_publishes_sync_requests" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_requests.name
  role    = "roles/pubsub.publisher"
  member  = module.sync.service_account_member
}

resource "google_pubsub_topic_iam_member" "channels_publishes_sync_requests" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_requests.name
  role    = "roles/pubsub.publisher"
  member  = module.channels.service_account_member
}

resource "google_pubsub_topic_iam_member" "channels_publishes_channel_commands" {
  project = var.project_id
  topic   = google_pubsub_topic.channel_commands.name
  role    = "roles/pubsub.publisher"
  member  = module.channels.service_account_member
}

# --- intake is public ------------------------------------------------------------------------
# intake is Google Calendar's push target: public, and the only public endpoint. Notifications
# are authenticated by their channel token (an HMAC checked in constant time), not by IAM.

resource "google_cloud_run_v2_service_iam_member" "intake_public" {
  project  = var.project_id
  location = var.region
  name     = module.intake.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# --- Pub/Sub service agent (dead-lettering) --------------------------------------------------
# To forward a message that failed every attempt, the Pub/Sub service agent must publish to the
# dead-letter topic and subscribe to the source subscription. The trigger subscriptions are
# created by Eventarc under generated names, so the subscriber role is granted on the project.

resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_project_iam_member" "pubsub_agent_subscriber" {
  project = var.project_id
  role    = "roles/pubsub.subscriber"
  member  = local.pubsub_agent
}
