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

output "source_object" {
  description = "Name of the source object (named by the zip's SHA-256) the function was built from."
  value       = google_storage_bucket_object.source.name
}

output "trigger" {
  description = "Id of the Eventarc trigger (projects/P/locations/L/triggers/T) of an event-driven function; null for an HTTP function."
  value       = one(google_cloudfunctions2_function.this.event_trigger[*].trigger)
}

output "url" {
  description = "HTTPS address of the function."
  value       = google_cloudfunctions2_function.this.url
}
