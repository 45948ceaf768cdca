# The three functions, each through modules/function (its source object, its own service
# account and its secrets' accessor bindings). Environment variables are listed explicitly per
# function from confsync.config.VARIABLES (`used_by`): every variable a function reads, and no
# other (tests/terraform checks both); a null value leaves a variable out.
#
# sync and channels have no Eventarc trigger: each is the push endpoint of a Pub/Sub subscription
# declared in delivery.tf, with its retry and dead-letter policy, so the whole delivery path is
# Terraform's (docs/decisions/2026-12-04-push-subscriptions-in-terraform.md).

locals {
  runtime = "python311"

  # Cloud Build: the dedicated build service account and the image repository (build.tf).
  build = {
    docker_repository     = google_artifact_registry_repository.functions.id
    build_service_account = google_service_account.build.id
  }

  # The Calendar client of sync and channels (calendar.tf): the same settings for both.
  calendar_environment = {
    CONFSYNC_CALENDAR_CREDENTIALS        = var.calendar_credentials
    CALENDAR_API_URL                     = var.calendar_api_url
    CONFSYNC_CALENDAR_TIMEOUT_SECONDS    = tostring(var.calendar_timeout_seconds)
    CONFSYNC_CALENDAR_ATTEMPTS           = tostring(var.calendar_attempts)
    CONFSYNC_PROJECT_CALENDAR_PER_MINUTE = tostring(var.project_calendar_per_minute)
    CONFSYNC_DELEGATION_SERVICE_ACCOUNT  = local.delegated ? google_service_account.calendar[0].email : ""
    CONFSYNC_OAUTH_CLIENT_ID             = local.oauth ? var.oauth_client_id : ""
    GOOGLE_TOKEN_URL                     = "https://oauth2.googleapis.com/token"
    IAM_CREDENTIALS_URL                  = "https://iamcredentials.googleapis.com/v1/"
  }
  calendar_secret_environment = {
    CONFSYNC_OAUTH_CLIENT_SECRET = local.oauth ? google_secret_manager_secret.this["oauth_client_secret"].secret_id : null
    CONFSYNC_OAUTH_TOKEN_KEY     = local.oauth ? google_secret_manager_secret.this["oauth_token_key"].secret_id : null
  }
}

module "intake" {
  #checkov:skip=CKV_GCP_124:intake is Google Calendar's push target, so it must accept traffic from the internet; each notification is authenticated by its channel token
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.prefix}-intake"
  entry_point           = "intake"
  runtime               = local.runtime
  source_zip            = var.function_sources["intake"]
  bucket                = google_storage_bucket.sources.name
  docker_repository     = local.build.docker_repository
  build_service_account = local.build.build_service_account

  # Many requests per instance (variables.tf, intake_concurrency): a request is an HMAC check
  # and a publish, I/O-bound, so one vCPU serves many at once and a flood of forged
  # notifications cannot occupy every instance one request at a time.
  service = {
    ingress_settings   = "ALLOW_ALL" # Google Calendar's push target
    min_instance_count = var.intake_min_instances
    max_instance_count = var.intake_max_instances
    concurrency        = var.intake_concurrency
    cpu                = "1" # concurrency above 1 needs a whole vCPU
    memory             = "512M"
    timeout_seconds    = 30
  }

  environment_variables = {
    GOOGLE_CLOUD_PROJECT              = var.project_id
    CONFSYNC_SYNC_TOPIC               = google_pubsub_topic.sync_requests.name
    CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY = var.channel_token_active_key
    CONFSYNC_INTAKE_MAX_BODY_BYTES    = tostring(var.intake_max_body_bytes)
    CONFSYNC_CHANNEL_COMMANDS_TOPIC   = google_pubsub_topic.channel_commands.name
    CONFSYNC_ALLOWED_DOMAINS          = join(",", var.allowed_domains)
    CONFSYNC_ENROLL_AUDIENCES         = join(",", var.enroll_audiences)
    GOOGLE_ID_TOKEN_CERTS_URL         = "https://www.googleapis.com/oauth2/v1/certs"
    LOG_LEVEL                         = var.log_level
  }

  secret_environment_variables = {
    CONFSYNC_CHANNEL_TOKEN_KEYS = google_secret_manager_secret.this["channel_token_keys"].secret_id
  }

  depends_on = [
    google_project_service.this,
    google_project_iam_member.build_logs,
    google_project_iam_member.build_reads_staged_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_reads_sources,
  ]
}

module "sync" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.prefix}-sync"
  entry_point           = "sync"
  runtime               = local.runtime
  source_zip            = var.function_sources["sync"]
  bucket                = google_storage_bucket.sources.name
  docker_repository     = local.build.docker_repository
  build_service_account = local.build.build_service_account

  service = {
    ingress_settings   = "ALLOW_INTERNAL_ONLY" # its Pub/Sub push subscription only (delivery.tf)
    max_instance_count = var.sync_max_instances
    memory             = "512M"
    timeout_seconds    = 540
  }


  environment_variables = merge(local.calendar_environment, {
    GOOGLE_CLOUD_PROJECT                = var.project_id
    CONFSYNC_FIRESTORE_DATABASE         = google_firestore_database.main.name
    CONFSYNC_SYNC_TOPIC                 = google_pubsub_topic.sync_requests.name
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
    CONFSYNC_JOIN_URL_HOSTS             = join(",", var.join_url_hosts)
    CONFSYNC_DELETE_BRAKE               = tostring(var.sync_settings.delete_brake)
    CONFSYNC_DELETE_GRACE_SECONDS       = tostring(var.sync_settings.delete_grace_seconds)
    CONFSYNC_MOVE_WAIT_SECONDS          = tostring(var.sync_settings.move_wait_seconds)
    CONFSYNC_OWNERLESS_POLICY           = var.sync_settings.ownerless_policy
    CONFSYNC_SWEEP_INTERVAL_SECONDS     = tostring(var.sweep_interval_seconds)
    CONFSYNC_SWEEP_MAX_INTERVAL_SECONDS = tostring(var.sweep_max_interval_seconds)
    LOG_LEVEL                           = var.log_level
  })

  secret_environment_variables = merge(local.calendar_secret_environment, {
    CONFERENCING_CREDENTIAL     = google_secret_manager_secret.this["conferencing_credential"].secret_id
    CONFERENCING_SIGNING_SECRET = google_secret_manager_secret.this["conferencing_signing_secret"].secret_id
  })

  depends_on = [
    google_project_service.this,
    google_project_iam_member.build_logs,
    google_project_iam_member.build_reads_staged_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_reads_sources,
  ]
}

# A check across variables (a variable's own validation may not read other variables before
# Terraform 1.9): the sync function refuses to start without join URL hosts while it writes back.
resource "terraform_data" "join_url_hosts" {
  input = var.join_url_hosts

  lifecycle {
    precondition {
      condition     = !var.sync_settings.write_back || length(var.join_url_hosts) > 0
      error_message = "join_url_hosts (CONFSYNC_JOIN_URL_HOSTS) is required while sync_settings.write_back is on: the host names of the conferencing system's join URLs."
    }
  }
}

module "channels" {
  source = "./modules/function"

  project_id            = var.project_id
  region                = var.region
  name                  = "${var.prefix}-channels"
  entry_point           = "channels"
  runtime               = local.runtime
  source_zip            = var.function_sources["channels"]
  bucket                = google_storage_bucket.sources.name
  docker_repository     = local.build.docker_repository
  build_service_account = local.build.build_service_account

  service = {
    ingress_settings   = "ALLOW_INTERNAL_ONLY" # its Pub/Sub push subscription only (delivery.tf)
    max_instance_count = var.channels_max_instances
    memory             = "512M"
    timeout_seconds    = 540
  }


  environment_variables = merge(local.calendar_environment, {
    GOOGLE_CLOUD_PROJECT                    = var.project_id
    CONFSYNC_FIRESTORE_DATABASE             = google_firestore_database.main.name
    CONFSYNC_SYNC_TOPIC                     = google_pubsub_topic.sync_requests.name
    CONFSYNC_CHANNEL_COMMANDS_TOPIC         = google_pubsub_topic.channel_commands.name
    CONFSYNC_CHANNEL_TOKEN_ACTIVE_KEY       = var.channel_token_active_key
    CONFSYNC_INTAKE_URL                     = module.intake.url
    CONFSYNC_CHANNEL_TTL_SECONDS            = tostring(var.channel_ttl_seconds)
    CONFSYNC_RENEWAL_WINDOW_SECONDS         = tostring(var.renewal_window_seconds)
    CONFSYNC_SWEEP_INTERVAL_SECONDS         = tostring(var.sweep_interval_seconds)
    CONFSYNC_TICK_BATCH                     = tostring(var.tick_batch)
    CONFSYNC_SUBJECT_BUDGET_PER_MINUTE      = tostring(var.subject_budget_per_minute)
    CONFSYNC_ALLOWED_DOMAINS                = join(",", var.allowed_domains)
    CONFSYNC_DISCONNECTED_RETENTION_SECONDS = tostring(var.disconnected_retention_seconds)
    LOG_LEVEL                               = var.log_level
  })

  secret_environment_variables = merge(local.calendar_secret_environment, {
    CONFSYNC_CHANNEL_TOKEN_KEYS = google_secret_manager_secret.this["channel_token_keys"].secret_id
  })

  depends_on = [
    google_project_service.this,
    google_project_iam_member.build_logs,
    google_project_iam_member.build_reads_staged_sources,
    google_artifact_registry_repository_iam_member.build_writer,
    google_storage_bucket_iam_member.build_reads_sources,
  ]
}
