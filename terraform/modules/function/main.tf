# One Cloud Function (2nd gen) with its own source object, service account and the IAM that
# only this function needs: access to the secrets it reads. Every function is served over HTTPS
# (no Eventarc trigger): a Pub/Sub-fed function is the push endpoint of a subscription the caller
# declares, with its retry and dead-letter policy. What the function does beyond that (Firestore,
# topics it publishes to, who may invoke it) is granted by the caller, next to the resource.
locals {
  # The platform's, for every function: execution ids on every log entry, and as many
  # functions-framework (gunicorn) threads as requests an instance is sent at once (its default,
  # 4 per CPU, would queue the rest of a concurrent instance's requests inside the instance).
  platform_environment = {
    LOG_EXECUTION_ID = "true"
    THREADS          = tostring(var.service.concurrency)
  }
  environment_variables = merge(
    { for name, value in var.environment_variables : name => value if value != null },
    local.platform_environment,
  )
  secret_environment_variables = {
    for name, secret in var.secret_environment_variables : name => secret if secret != null
  }
}

# Named by the zip's content hash: a changed bundle is a new object (and a new build), an
# unchanged one is not.
resource "google_storage_bucket_object" "source" {
  bucket = var.bucket
  name   = "${var.name}/${filesha256(var.source_zip)}.zip"
  source = var.source_zip
}

resource "google_cloudfunctions2_function" "this" {
  project  = var.project_id
  location = var.region
  name     = var.name

  build_config {
    runtime           = var.runtime
    entry_point       = var.entry_point
    service_account   = var.build_service_account
    docker_repository = var.docker_repository
    source {
      storage_source {
        bucket = var.bucket
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.this.email
    ingress_settings                 = var.service.ingress_settings
    min_instance_count               = var.service.min_instance_count
    max_instance_count               = var.service.max_instance_count
    available_memory                 = var.service.memory
    available_cpu                    = var.service.cpu
    timeout_seconds                  = var.service.timeout_seconds
    all_traffic_on_latest_revision   = true
    max_instance_request_concurrency = var.service.concurrency
    environment_variables            = local.environment_variables

    dynamic "secret_environment_variables" {
      for_each = local.secret_environment_variables
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        version    = "latest"
      }
    }
  }

  # A revision that cannot read its secrets fails to deploy.
  depends_on = [google_secret_manager_secret_iam_member.accessor]
}
