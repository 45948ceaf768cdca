output "name" {
  description = "Name of the function (and of its Cloud Run service)."
  value       = google_cloudfunctions2_function.this.name
}

output "service_account_email" {
  description = "E-mail of the function's own service account."
  value       = google_service_account.this.email
}

output "service_account_member" {
  description = "IAM member (serviceAccount:EMAIL) of the function's own service account."
  value       = google_service_account.this.member
}

output "service_uri" {
  description = "HTTPS address (https://NAME-HASH-REGION.a.run.app) of the function's Cloud Run service: the push endpoint and OIDC audience of a Pub/Sub subscription feeding it."
  value       = google_cloudfunctions2_function.this.service_config[0].uri
}

output "source_object" {
  description = "Name of the source object (named by the zip's SHA-256) the function was built from."
  value       = google_storage_bucket_object.source.name
}

output "url" {
  description = "HTTPS address of the function."
  value       = google_cloudfunctions2_function.this.url
}
