# How Pub/Sub messages reach sync and channels: one push subscription each, declared here with its
# retry and dead-letter policy, so no step after `terraform apply` configures delivery and nothing
# but Terraform owns it (docs/decisions/2026-12-04-push-subscriptions-in-terraform.md).
#
# Each subscription pushes the standard Pub/Sub envelope to the function's Cloud Run address with
# `/projects/P/topics/T` in the path; functions-framework turns it into the same
# `messagePublished` CloudEvent the local stack delivers (tools/devstack/pubsub_wiring.py, which
# creates the same subscriptions on the emulator). The request carries an OIDC token of the
# dedicated push service account, whose audience is the service's address: Cloud Run checks it
# (roles/run.invoker below), the functions never do, and the emulator sends none.
#
# | who                      | granted                                             | on                               |
# |--------------------------|-----------------------------------------------------|----------------------------------|
# | push service account     | roles/run.invoker                                   | the sync and channels services   |
# | Pub/Sub service agent    | roles/iam.serviceAccountTokenCreator (OIDC tokens)  | the push service account         |
# | Pub/Sub service agent    | roles/pubsub.publisher (forward dead letters)       | the dead-letter topic            |
# | Pub/Sub service agent    | roles/pubsub.subscriber (ack what it dead-letters)  | the two push subscriptions       |
locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # Shared by both subscriptions. The ack deadline is Pub/Sub's maximum and outlasts the
  # functions' 540 s timeout, so a running handler is never sent the message again; a failure
  # (an exception answers 500) is retried with backoff and, after the fifth attempt, forwarded to
  # the dead-letter topic. The local stack uses the same deadline and attempts (backoff 1-60 s).
  push_delivery = {
    ack_deadline_seconds  = 600
    minimum_backoff       = "10s"
    maximum_backoff       = "600s"
    max_delivery_attempts = 5
    retention             = "604800s" # 7 days: an undelivered message outlives a long outage
  }
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.prefix}-push"
  display_name = "confsync Pub/Sub push to sync and channels"
}

resource "google_pubsub_subscription" "sync_push" {
  project = var.project_id
  name    = "${var.prefix}-sync-requests-to-sync"
  topic   = google_pubsub_topic.sync_requests.id

  ack_deadline_seconds       = local.push_delivery.ack_deadline_seconds
  message_retention_duration = local.push_delivery.retention

  push_config {
    push_endpoint = "${module.sync.service_uri}/projects/${var.project_id}/topics/${google_pubsub_topic.sync_requests.name}"
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = module.sync.service_uri
    }
  }

  retry_policy {
    minimum_backoff = local.push_delivery.minimum_backoff
    maximum_backoff = local.push_delivery.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.push_delivery.max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never: an idle subscription must not be deleted after 31 days
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.sync_push_invoker,
    google_service_account_iam_member.pubsub_agent_push_token_creator,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letter_publisher,
  ]
}

resource "google_pubsub_subscription" "channels_push" {
  project = var.project_id
  name    = "${var.prefix}-channel-commands-to-channels"
  topic   = google_pubsub_topic.channel_commands.id

  ack_deadline_seconds       = local.push_delivery.ack_deadline_seconds
  message_retention_duration = local.push_delivery.retention

  push_config {
    push_endpoint = "${module.channels.service_uri}/projects/${var.project_id}/topics/${google_pubsub_topic.channel_commands.name}"
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = module.channels.service_uri
    }
  }

  retry_policy {
    minimum_backoff = local.push_delivery.minimum_backoff
    maximum_backoff = local.push_delivery.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = local.push_delivery.max_delivery_attempts
  }

  expiration_policy {
    ttl = "" # never: an idle subscription must not be deleted after 31 days
  }

  depends_on = [
    google_cloud_run_v2_service_iam_member.channels_push_invoker,
    google_service_account_iam_member.pubsub_agent_push_token_creator,
    google_pubsub_topic_iam_member.pubsub_agent_dead_letter_publisher,
  ]
}

# --- the push service account may invoke exactly these two services ---------------------------

resource "google_cloud_run_v2_service_iam_member" "sync_push_invoker" {
  project  = var.project_id
  location = var.region
  name     = module.sync.name
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

resource "google_cloud_run_v2_service_iam_member" "channels_push_invoker" {
  project  = var.project_id
  location = var.region
  name     = module.channels.name
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# --- the Pub/Sub service agent: tokens, dead letters; nothing on the project -----------------

# Mints the push requests' OIDC tokens as the push service account (projects created before
# April 2021 lack this through the agent's own role).
resource "google_service_account_iam_member" "pubsub_agent_push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# To forward a message that failed every attempt, the agent publishes it to the dead-letter topic
# and acknowledges it on its source subscription.
resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_sync_push_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.sync_push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_channels_push_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.channels_push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}
