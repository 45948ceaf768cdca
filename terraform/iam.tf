# One service account per function, each with only what that function does:
#
# | function | Firestore     | publishes to                    | secrets                        |
# |----------|---------------|---------------------------------|--------------------------------|
# | intake   | -             | sync-requests                   | channel-token keys             |
# | sync     | datastore.user| sync-requests (re-publish)      | conferencing credential, secret|
# | channels | datastore.user| sync-requests, channel-commands | channel-token keys             |
#
# Secret accessor bindings are in secrets.tf, next to the secrets.
locals {
  functions = toset(["channels", "intake", "sync"])
  # The functions Eventarc invokes (their own service account is the trigger's identity).
  event_functions = toset(["channels", "sync"])
  pubsub_agent    = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_service_account" "function" {
  for_each = local.functions

  project      = var.project_id
  account_id   = "${var.prefix}-${each.key}"
  display_name = "confsync ${each.key} function"
}

# --- Firestore -------------------------------------------------------------------------------

resource "google_project_iam_member" "sync_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function["sync"].member
}

resource "google_project_iam_member" "channels_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = google_service_account.function["channels"].member
}

# --- Pub/Sub publishing ----------------------------------------------------------------------

resource "google_pubsub_topic_iam_member" "intake_publishes_sync_requests" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_requests.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function["intake"].member
}

resource "google_pubsub_topic_iam_member" "sync_publishes_sync_requests" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_requests.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function["sync"].member
}

resource "google_pubsub_topic_iam_member" "channels_publishes_sync_requests" {
  project = var.project_id
  topic   = google_pubsub_topic.sync_requests.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function["channels"].member
}

resource "google_pubsub_topic_iam_member" "channels_publishes_channel_commands" {
  project = var.project_id
  topic   = google_pubsub_topic.channel_commands.name
  role    = "roles/pubsub.publisher"
  member  = google_service_account.function["channels"].member
}

# --- Eventarc triggers -----------------------------------------------------------------------
# Each event-driven function's trigger runs as the function's own service account: it receives
# events and may invoke only its own Cloud Run service.

resource "google_project_iam_member" "event_receiver" {
  for_each = local.event_functions

  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = google_service_account.function[each.key].member
}

resource "google_cloud_run_v2_service_iam_member" "sync_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.sync.name
  role     = "roles/run.invoker"
  member   = google_service_account.function["sync"].member
}

resource "google_cloud_run_v2_service_iam_member" "channels_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.channels.name
  role     = "roles/run.invoker"
  member   = google_service_account.function["channels"].member
}

# intake is Google Calendar's push target: public, and the only public endpoint. Notifications
# are authenticated by their channel token, not by IAM.
resource "google_cloud_run_v2_service_iam_member" "intake_public" {
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.intake.name
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
