# Alerting: permanent failures logged by the functions (ERROR lines: a PermanentError that was
# acknowledged, or a crash), and any message reaching the dead-letter topic.
resource "google_logging_metric" "function_errors" {
  project = var.project_id
  name    = "${var.prefix}-function-errors"
  filter  = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=~\"^${var.prefix}-(intake|sync|channels)$\" AND severity>=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "service"
      value_type = "STRING"
    }
  }

  label_extractors = {
    service = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_monitoring_alert_policy" "function_errors" {
  project      = var.project_id
  display_name = "${var.prefix}: function errors"
  combiner     = "OR"

  conditions {
    display_name = "ERROR log lines from a confsync function"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "A confsync function logged an ERROR (a permanent failure that was acknowledged, or a crash). Read the function's logs by execution id."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "${var.prefix}: dead letters"
  combiner     = "OR"

  conditions {
    display_name = "messages waiting in ${google_pubsub_subscription.dead_letter_inspect.name}"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.labels.subscription_id=\"${google_pubsub_subscription.dead_letter_inspect.name}\" AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }

  notification_channels = var.alert_notification_channels

  documentation {
    content   = "A message failed every delivery attempt and was dead-lettered. Pull it from the inspect subscription, fix the cause, and re-publish it."
    mime_type = "text/markdown"
  }
}
