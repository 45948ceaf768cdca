# Secret containers only: values are added out of band
# (`gcloud secrets versions add SECRET --data-file=-`), never through Terraform state.
locals {
  secrets = {
    channel_token_keys          = "${var.prefix}-channel-token-keys"
    conferencing_credential     = "${var.prefix}-conferencing-credential"
    conferencing_signing_secret = "${var.prefix}-conferencing-signing-secret"
  }
}

resource "google_secret_manager_secret" "this" {
  for_each = local.secrets

  project   = var.project_id
  secret_id = each.value

  replication {
    auto {}
  }

  depends_on = [google_project_service.this]
}

# Accessor bindings: each function reads only the secrets it is given as environment variables.
resource "google_secret_manager_secret_iam_member" "sync_conferencing_credential" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.this["conferencing_credential"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["sync"].member
}

resource "google_secret_manager_secret_iam_member" "sync_conferencing_signing_secret" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.this["conferencing_signing_secret"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["sync"].member
}

resource "google_secret_manager_secret_iam_member" "intake_channel_token_keys" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.this["channel_token_keys"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["intake"].member
}

resource "google_secret_manager_secret_iam_member" "channels_channel_token_keys" {
  project   = var.project_id
  secret_id = google_secret_manager_secret.this["channel_token_keys"].secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.function["channels"].member
}
