# The three functions. Environment variables are listed explicitly per function from
# confsync.config.VARIABLES (`used_by`): every variable a function reads, and no other
# (tests/terraform checks both). LOG_EXECUTION_ID is the platform's, for log correlation.
#
# Dead letters: Eventarc creates each trigger's push subscription, and the function resource
# cannot set its dead-letter policy. After the first apply, point each trigger subscription at
# the dead-letter topic (5 attempts) and a 10 s - 600 s retry backoff, e.g.
# `gcloud pubsub subscriptions update SUBSCRIPTION --dead-letter-topic=DEAD_LETTER_TOPIC
#  --max-delivery-attempts=5 --min-retry-delay=10s --max-retry-delay=600s`;
# iam.tf already grants the Pub/Sub service agent what dead-lettering needs.

locals {
  runtime = "python311"
}

resource "google_cloudfunctions2_function" "intake" {
  project  = var.project_id
  location = var.region
  name     = "${var.prefix}-intake"

  build_config {
    runtime     = local.runtime
    entry_point = "intake"
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["intake"].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function["intake"].email
    ingress_settings                 = "ALLOW_ALL"
    min_instance_count               = var.intake_min_instances
    max_instance_count               = var.intake_max_instances
    available_memory                 = "256M"
    timeout_seconds                  = 30
    all_traffic_on_latest_revision   = true
    max_instance_request_concurrency = 1

    environment_variables = {
      GOOGLE_CLOUD_PROJECT              = var.project_id
      CONFSYNC_SYNC_TOPIC               = google_pubsub_topic.sync_requests.name
      CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY = var.channel_token_active_key
      CONFSYNC_INTAKE_MAX_BODY_BYTES    = tostring(var.intake_max_body_bytes)
      LOG_LEVEL                         = var.log_level
      LOG_EXECUTION_ID                  = "true"
    }

    secret_environment_variables {
      key        = "CONFSYNC_CHANNEL_TOKEN_KEYS"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["channel_token_keys"].secret_id
      version    = "latest"
    }
  }

  depends_on = [
    google_project_service.this,
    google_secret_manager_secret_iam_member.intake_channel_token_keys,
  ]
}

resource "google_cloudfunctions2_function" "sync" {
  project  = var.project_id
  location = var.region
  name     = "${var.prefix}-sync"

  build_config {
    runtime     = local.runtime
    entry_point = "sync"
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["sync"].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function["sync"].email
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    min_instance_count               = 0
    max_instance_count               = var.sync_max_instances
    available_memory                 = "512M"
    timeout_seconds                  = 540
    all_traffic_on_latest_revision   = true
    max_instance_request_concurrency = 1

    environment_variables = {
      GOOGLE_CLOUD_PROJECT                = var.project_id
      CONFSYNC_FIRESTORE_DATABASE         = google_firestore_database.main.name
      CONFSYNC_SYNC_TOPIC                 = google_pubsub_topic.sync_requests.name
      CONFSYNC_CALENDAR_CREDENTIALS       = var.calendar_credentials
      CALENDAR_API_URL                    = var.calendar_api_url
      CONFSYNC_CALENDAR_TIMEOUT_SECONDS   = tostring(var.calendar_timeout_seconds)
      CONFSYNC_CALENDAR_ATTEMPTS          = tostring(var.calendar_attempts)
      CONFERENCING_URL                    = var.conferencing_url
      CONFSYNC_SOLUTION_NAMES             = join(",", var.solution_names)
      CONFSYNC_SOLUTION_KEY_TYPE          = var.sync_settings.solution_key_type
      CONFSYNC_RELEVANT_FIELDS            = join(",", var.sync_settings.relevant_fields)
      CONFSYNC_OWNED_EVENTS_ONLY          = tostring(var.sync_settings.owned_events_only)
      CONFSYNC_FULL_SYNC_WINDOW_DAYS      = tostring(var.sync_settings.full_sync_window_days)
      CONFSYNC_CALENDAR_PAGE_SIZE         = tostring(var.sync_settings.calendar_page_size)
      CONFSYNC_LEASE_SECONDS              = tostring(var.sync_settings.lease_seconds)
      CONFSYNC_MAX_PULL_ROUNDS            = tostring(var.sync_settings.max_pull_rounds)
      CONFSYNC_PROVIDER_CONCURRENCY       = tostring(var.sync_settings.provider_concurrency)
      CONFSYNC_PROVIDER_TIMEOUT_SECONDS   = tostring(var.sync_settings.provider_timeout_seconds)
      CONFSYNC_PROVIDER_ATTEMPTS          = tostring(var.sync_settings.provider_attempts)
      CONFSYNC_PENDING_MAX_ATTEMPTS       = tostring(var.sync_settings.pending_max_attempts)
      CONFSYNC_PENDING_BASE_DELAY_SECONDS = tostring(var.sync_settings.pending_base_delay_seconds)
      CONFSYNC_PENDING_MAX_DELAY_SECONDS  = tostring(var.sync_settings.pending_max_delay_seconds)
      CONFSYNC_WRITE_BACK                 = tostring(var.sync_settings.write_back)
      LOG_LEVEL                           = var.log_level
      LOG_EXECUTION_ID                    = "true"
    }

    secret_environment_variables {
      key        = "CONFERENCING_CREDENTIAL"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["conferencing_credential"].secret_id
      version    = "latest"
    }

    secret_environment_variables {
      key        = "CONFERENCING_SIGNING_SECRET"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["conferencing_signing_secret"].secret_id
      version    = "latest"
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.sync_requests.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.function["sync"].email
  }

  depends_on = [
    google_project_service.this,
    google_secret_manager_secret_iam_member.sync_conferencing_credential,
    google_secret_manager_secret_iam_member.sync_conferencing_signing_secret,
  ]
}

resource "google_cloudfunctions2_function" "channels" {
  project  = var.project_id
  location = var.region
  name     = "${var.prefix}-channels"

  build_config {
    runtime     = local.runtime
    entry_point = "channels"
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source["channels"].name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.function["channels"].email
    ingress_settings                 = "ALLOW_INTERNAL_ONLY"
    min_instance_count               = 0
    max_instance_count               = var.channels_max_instances
    available_memory                 = "512M"
    timeout_seconds                  = 540
    all_traffic_on_latest_revision   = true
    max_instance_request_concurrency = 1

    environment_variables = {
      GOOGLE_CLOUD_PROJECT               = var.project_id
      CONFSYNC_FIRESTORE_DATABASE        = google_firestore_database.main.name
      CONFSYNC_SYNC_TOPIC                = google_pubsub_topic.sync_requests.name
      CONFSYNC_CHANNEL_COMMANDS_TOPIC    = google_pubsub_topic.channel_commands.name
      CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY  = var.channel_token_active_key
      CONFSYNC_INTAKE_URL                = google_cloudfunctions2_function.intake.url
      CONFSYNC_CHANNEL_TTL_SECONDS       = tostring(var.channel_ttl_seconds)
      CONFSYNC_RENEWAL_WINDOW_SECONDS    = tostring(var.renewal_window_seconds)
      CONFSYNC_SWEEP_INTERVAL_SECONDS    = tostring(var.sweep_interval_seconds)
      CONFSYNC_TICK_BATCH                = tostring(var.tick_batch)
      CONFSYNC_SUBJECT_BUDGET_PER_MINUTE = tostring(var.subject_budget_per_minute)
      CONFSYNC_CALENDAR_CREDENTIALS      = var.calendar_credentials
      CALENDAR_API_URL                   = var.calendar_api_url
      CONFSYNC_CALENDAR_TIMEOUT_SECONDS  = tostring(var.calendar_timeout_seconds)
      CONFSYNC_CALENDAR_ATTEMPTS         = tostring(var.calendar_attempts)
      LOG_LEVEL                          = var.log_level
      LOG_EXECUTION_ID                   = "true"
    }

    secret_environment_variables {
      key        = "CONFSYNC_CHANNEL_TOKEN_KEYS"
      project_id = var.project_id
      secret     = google_secret_manager_secret.this["channel_token_keys"].secret_id
      version    = "latest"
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
    pubsub_topic          = google_pubsub_topic.channel_commands.id
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.function["channels"].email
  }

  depends_on = [
    google_project_service.this,
    google_secret_manager_secret_iam_member.channels_channel_token_keys,
  ]
}
