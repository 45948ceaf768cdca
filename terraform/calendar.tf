# How sync and channels obtain Calendar credentials (var.calendar_credentials); Terraform creates
# and grants only what the chosen mode needs.
#
# delegated: Workspace domain-wide delegation without key files. A dedicated service account,
#   `<prefix>-calendar`, holds no keys and no roles; a Workspace administrator authorizes its
#   client id (output `delegation_client_id`) for the Calendar events scope. Sync and channels
#   may create tokens for it (roles/iam.serviceAccountTokenCreator on that account only): they
#   sign a JWT naming the calendar's user as its subject through the IAM Credentials API
#   (signJwt) and exchange it at Google's token endpoint.
# oauth: per-user refresh tokens, for marketplace add-ons. The OAuth client id is a variable; the
#   client secret and the key that encrypts the stored refresh tokens (Firestore collection
#   `oauth_grants`) are Secret Manager secrets (secrets.tf) read by sync and channels only.
# emulator: anonymous calls to calendar_api_url (a test deployment against an emulator).
locals {
  delegated = var.calendar_credentials == "delegated"
  oauth     = var.calendar_credentials == "oauth"

  # The functions that call the Calendar API, by IAM member.
  calendar_callers = {
    channels = module.channels.service_account_member
    sync     = module.sync.service_account_member
  }
  calendar_scopes = ["https://www.googleapis.com/auth/calendar.events"]
}

resource "google_service_account" "calendar" {
  count = local.delegated ? 1 : 0

  project      = var.project_id
  account_id   = "${var.prefix}-calendar"
  display_name = "confsync Calendar delegation"
  description  = "No keys, no roles: its client id is authorized for domain-wide delegation; sync and channels sign JWTs as it."
}

resource "google_service_account_iam_member" "calendar_token_creator" {
  for_each = { for name, member in local.calendar_callers : name => member if local.delegated }

  service_account_id = google_service_account.calendar[0].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = each.value
}

# Checks across variables (a variable's own validation may not read other variables before
# Terraform 1.9).
resource "terraform_data" "calendar_credentials" {
  input = var.calendar_credentials

  lifecycle {
    precondition {
      condition     = var.calendar_credentials != "emulator" || var.calendar_api_url != ""
      error_message = "calendar_credentials = \"emulator\" needs calendar_api_url (the emulator's address)."
    }
    precondition {
      condition     = var.calendar_credentials != "oauth" || var.oauth_client_id != ""
      error_message = "calendar_credentials = \"oauth\" needs oauth_client_id."
    }
  }
}
