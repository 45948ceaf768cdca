# Secret containers only: values are added out of band
# (`gcloud secrets versions add SECRET --data-file=-`), never through Terraform state. Each
# function's accessor bindings are made by modules/function, for exactly the secrets that
# function is given as environment variables.
locals {
  # Read by the functions in every mode.
  core_secrets = {
    channel_token_keys          = "${var.prefix}-channel-token-keys"
    conferencing_credential     = "${var.prefix}-conferencing-credential"
    conferencing_signing_secret = "${var.prefix}-conferencing-signing-secret"
  }
  # calendar_credentials = "oauth" only (calendar.tf): the OAuth client's secret, and base64 of
  # the 32-byte AES-256-GCM key the stored refresh tokens are encrypted with (while rotating,
  # comma-separated keys, the sealing one first: docs/runbooks/rotate-oauth-token-key.md).
  oauth_secrets = {
    oauth_client_secret = "${var.prefix}-oauth-client-secret"
    oauth_token_key     = "${var.prefix}-oauth-token-key"
  }
  secrets = merge(local.core_secrets, { for name, id in local.oauth_secrets : name => id if local.oauth })
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
