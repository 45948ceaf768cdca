# Each function has its own service account (modules/function), holding only what that function
# does:
#
# | function | Firestore      | publishes to                    | secrets                         | Calendar (delegated)     |
# |----------|----------------|---------------------------------|---------------------------------|--------------------------|
# | intake   | -              | sync-requests, channel-commands | channel-token keys              | -                        |
# | sync     | datastore.user on confsync's database | sync-requests (re-publish)      | conferencing credential, secret | token creator on calendar|
# | channels | datastore.user on confsync's database | sync-requests, channel-commands | channel-token keys              | token creator on calendar|
#
# With calendar_credentials = "oauth", sync and channels also read the two OAuth secrets.
# Secret accessor bindings are made by the module; who may invoke sync and channels (the push
# service account) and the Pub/Sub service agent's grants are in delivery.tf; the Calendar grants
# are in calendar.tf, the build service account's in build.tf. Apart from the publishers of
# channel-commands below, operators are granted nothing here (the README's "Operating confsync"
# lists the roles they need). tests/terraform lists every project-level grant to a function's
# account, with its reason, and fails on any other.
locals {
  # The Firestore database's resource name, as IAM conditions see it.
  firestore_database = "projects/${var.project_id}/databases/${google_firestore_database.main.name}"
}

# --- Firestore: confsync's database only -----------------------------------------------------
# Firestore grants roles on the project; an IAM condition on resource.name keeps the role to
# confsync's database, so another database of the project stays out of reach.

resource "google_project_iam_member" "sync_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = module.sync.service_account_member

  condition {
    title       = "confsync database only"
    description = "Firestore access limited to the database confsync keeps its state in."
    expression  = "resource.name == \"${local.firestore_database}\""
  }
}

resource "google_project_iam_member" "channels_datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = module.channels.service_account_member

  condition {
    title       = "confsync database only"
    description = "Firestore access limited to the database confsync keeps its state in."
    expression  = "resource.name == \"${local.firestore_database}\""
  }
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

# A channel command names the user whose calendar it enrolls or unenrolls, and channels acts on
# it with that user's delegated access: whoever may publish here may act as any user. So the
# topic's publisher role is authoritative: the channels function (its renew and sweep fan-out),
# intake (the add-on's enrolments) and exactly the members in var.channel_command_publishers (the
# operators' accounts running `confsync enroll` / `unenroll`); Terraform removes any other member
# granted it on this topic. The tick job publishes as the Cloud Scheduler service agent, through
# the agent's own role. Project-level roles that include pubsub.topics.publish (owner, editor,
# pubsub.publisher or pubsub.editor on the project) still reach this topic: keep them from anyone
# else.
#
# intake is public, yet granting it this role does not let the public act as any user: its code
# publishes only `enroll` commands (never unenroll or tick), each for the e-mail address of a
# Google ID token whose signature, audience (var.enroll_audiences) and expiry it verified, whose
# address Google verified, and whose domain (and Workspace domain) is in var.allowed_domains. An
# enrolment only starts syncing that user's own calendar, and the channels function checks the
# allow-list again and never re-enrolls a calendar an operator blocked. With enroll_audiences
# empty, intake publishes nothing here.
resource "google_pubsub_topic_iam_binding" "channel_commands_publishers" {
  project = var.project_id
  topic   = google_pubsub_topic.channel_commands.name
  role    = "roles/pubsub.publisher"
  members = concat(
    [module.channels.service_account_member, module.intake.service_account_member],
    var.channel_command_publishers,
  )
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
